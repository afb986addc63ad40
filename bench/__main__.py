"""`make bench` / `python -m bench`: every stage at 100k and 1M customers, side by side.

Each stage runs in its own child process so its wall time and peak memory are its own.
Ratios (build vs lower bound, incremental vs full, client vs raw SQL) are taken from
numbers measured in this same run. Nothing here asserts a time: it prints and writes
`bench/results/latest.md`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from bench import probes
from bench.identity import ALIAS_RATE, identity_code, parse_identity_output
from bench.mf_cli import mf_cli_row
from bench.report import Row, write_report
from bench.stages import StageResult, dbt_command, python_stage, run_stage, stage_env
from c360 import config


def _stage_row(stage: str, scale: int, target: str, result: StageResult, rows: int | None = None,
               note: str = "") -> Row:
    rate = f"{rows / result.seconds:,.0f}" if rows else ""
    return Row(stage, scale, target, result.seconds, rate, result.peak_mb, note)


def bench_scale(scale: int, targets: list[str], root: Path, seed: int,
                done: list[Row] | None = None, out: Path | None = None) -> list[Row]:
    """Generate, load, build, query and render at one scale; return the table rows.

    With `done` and `out`, the report so far is rewritten after each target, so a long run
    that is stopped still leaves what it measured.
    """
    workdir = root / str(scale)
    shutil.rmtree(workdir, ignore_errors=True)
    raw = workdir / "raw"
    raw.mkdir(parents=True)
    py = sys.executable
    rows: list[Row] = []
    pg_db = f"c360_bench_{scale}"
    base_env = stage_env("duckdb", workdir, pg_db)

    gen = run_stage("generate", [py, "-m", "data_gen", "generate", "--customers", str(scale), "--seed",
                                 str(seed), "--out", str(raw), "--quiet",
                                 "--rate-same-person-new-id", ALIAS_RATE], base_env)
    manifest = json.loads((raw / "manifest.json").read_text())
    raw_rows = probes.manifest_rows(manifest)
    rows.append(_stage_row("generate", scale, "-", gen, raw_rows))

    for target in targets:
        env = stage_env(target, workdir, pg_db)
        if target == "postgres":
            probes.recreate_pg_database(pg_db)
        load = run_stage("load", [py, "-m", "data_gen", "load", "--target", target, "--dir", str(raw)], env)
        rows.append(_stage_row("load", scale, target, load, raw_rows))
        both = gen.seconds + load.seconds
        rows.append(Row("generate + load", scale, target, both, f"{raw_rows / both:,.0f}",
                        max(gen.peak_mb, load.peak_mb), ""))

        identity = python_stage("identity", identity_code(target, raw / "manifest.json"), env)
        seconds, precision, recall, people = parse_identity_output(identity.output)
        build = run_stage("dbt build", dbt_command(["build"]), env, cwd=config.DBT_PROJECT_DIR)
        rows.append(Row("identity matching", scale, target, seconds, "", identity.peak_mb,
                        f"precision {precision:.4f}, recall {recall:.4f} vs truth; {people:,} people; "
                        f"{seconds / (seconds + build.seconds):.0%} of identity + dbt build"))
        lower = python_stage("lower bound", probes.lower_bound_code(target), env)
        check = lower.output.strip().splitlines()[-1] if lower.output.strip() else ""
        rows.append(_stage_row("dbt build (full)", scale, target, build,
                               note=f"{build.seconds / lower.seconds:.1f}x lower bound"))
        rows.append(_stage_row("lower bound: customers in one SQL", scale, target, lower, note=check))
        copy = python_stage("publish copy", probes.publish_copy_code(target), env)
        copied = copy.output.strip().splitlines()[-1].split() if copy.output.strip() else ["copy", "0"]
        copy_seconds = float(copied[1])
        rows.append(Row("whole-build publish: candidate copy", scale, target, copy_seconds, "", copy.peak_mb,
                        f"{' '.join(copied[3:])}; {copy_seconds / build.seconds:.0%} of the full dbt build"))

        python_stage("append one day", probes.append_day_code(target), env)
        inc_model = run_stage("incremental fact", dbt_command(["run", "-s", "transactions"]), env,
                              cwd=config.DBT_PROJECT_DIR)
        full_model = run_stage("full-refresh fact",
                               dbt_command(["run", "-s", "transactions", "--full-refresh"]),
                               env, cwd=config.DBT_PROJECT_DIR)
        inc_build = run_stage("dbt build after append", dbt_command(["build"]), env,
                              cwd=config.DBT_PROJECT_DIR)
        rows.append(_stage_row("incremental `transactions` run", scale, target, inc_model,
                               note=f"{inc_model.seconds / full_model.seconds:.0%} of its full refresh "
                                    f"({full_model.seconds:.1f} s); {inc_model.seconds / build.seconds:.0%}"
                                    " of the full build"))
        rows.append(_stage_row("dbt build after appending a day", scale, target, inc_build,
                               note=f"{inc_build.seconds / build.seconds:.0%} of the first full build"))

        metrics = python_stage("metric query", probes.metric_latency_code(), env)
        rows.append(Row("metric query, warm (client vs raw SQL)", scale, target,
                        *probes.parse_metric_output(metrics)))
        rows.append(mf_cli_row(scale, target, env))
        app = python_stage("app pages", probes.app_render_code(), env)
        rows.extend(Row(f"app page `{page}`, warm", scale, target, seconds, "", app.peak_mb, note)
                    for page, seconds, note in probes.parse_app_output(app.output))
        if target == "postgres":
            probes.drop_pg_database(pg_db)
        if out is not None:
            write_report([*(done or []), *rows], out, 0.0)
    shutil.rmtree(workdir, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Parse options, run every scale and write the report."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scales", default="100000,1000000",
                        help="comma-separated customer counts (default: 100000,1000000)")
    parser.add_argument("--targets", default="duckdb,postgres", help="engines to measure (default both)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/c360_bench"), help="scratch directory")
    parser.add_argument("--out", type=Path, default=config.REPO_ROOT / "bench" / "results" / "latest.md",
                        help="markdown report path")
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",") if s]
    targets = [t for t in args.targets.split(",") if t]
    started = time.perf_counter()
    rows: list[Row] = []
    for scale in scales:
        print(f"== {scale:,} customers", file=sys.stderr, flush=True)
        rows.extend(bench_scale(scale, targets, args.workdir, args.seed, rows, args.out))
    text = write_report(rows, args.out, time.perf_counter() - started)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
