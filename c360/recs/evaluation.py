"""`make eval-recs`: offline evaluation of the next best category recommender.

The evaluation itself is dbt (models under dbt_c360/models/marts/recommendations, which call
the same `recs_recommend` macro as the production model): this entry point builds it on
fixed data sets in isolated DuckDB warehouses and prints the results.

    python -m c360.recs.evaluation                    # 100,000 generated customers (seed 42),
                                                      # the sample and a Complete Journey slice
    python -m c360.recs.evaluation --datasets sample  # only the exercise sample (seconds)
    python -m c360.recs.evaluation --datasets completejourney --households 200  # real data only
    python -m c360.recs.evaluation --current          # the DBT_TARGET warehouse, after make build

Each data set gets its own directory under --workdir (raw files, DuckDB file, dbt target),
so the run never touches the app's warehouse; reruns rebuild from scratch.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from c360 import config
from c360.dbt_runner import DbtError, run_dbt
from c360.recs import model as recs_model
from c360.recs.report import format_markdown, read_evaluation
from c360.warehouse import Warehouse, WarehouseError

RECS_SELECTOR = "path:models/marts/recommendations"
# Fixed "now" of the generated benchmark data, so a seed always gives the same rows.
GENERATED_NOW = datetime(2025, 1, 1, tzinfo=UTC)
DATASETS = ("generated", "sample", "completejourney")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _duckdb_env(directory: Path) -> dict[str, str]:
    return {
        "DBT_TARGET": "duckdb",
        "C360_DUCKDB_PATH": str(directory / "c360.duckdb"),
        "DBT_TARGET_PATH": str(directory / "target"),
    }


def _vars(label: str, excluded: list[str] | None) -> str:
    """The dbt --vars of an evaluation run (JSON is YAML)."""
    return json.dumps({"recs_dataset_label": label, "recs_excluded_categories": list(excluded or [])})


def build_and_evaluate(
    raw_dir: Path,
    directory: Path,
    label: str,
    excluded: list[str] | None = None,
    learned: bool = True,
    manifest: Path | None = None,
) -> pd.DataFrame:
    """Load `raw_dir` into a fresh DuckDB warehouse in `directory`, build the recommender and
    everything upstream (`dbt build`, tests included), write the oracle's lists when `manifest`
    (the generator's) is given, train the learned model on it (`c360.recs.model.refresh`, unless
    `learned` is false) and return its evaluation table."""
    from data_gen.load.loader import load

    env = _duckdb_env(directory)
    db_path = Path(env["C360_DUCKDB_PATH"])
    shutil.rmtree(directory / "target", ignore_errors=True)  # no stale partial parse
    for stale in (db_path, db_path.with_name(db_path.name + ".wal")):
        stale.unlink(missing_ok=True)
    saved = {key: config.os.environ.get(key) for key in env}
    try:
        config.os.environ.update(env)
        load("duckdb", contacts=raw_dir / "contacts.csv", transactions=raw_dir / "transactions.csv")
    finally:
        for key, value in saved.items():
            if value is None:
                config.os.environ.pop(key, None)
            else:
                config.os.environ[key] = value
    started = time.perf_counter()
    run_dbt(
        # cautious: only tests whose parents are all selected (not e.g. customer_category_spend's)
        [
            "build",
            "--select",
            f"+{RECS_SELECTOR}",
            "--indirect-selection",
            "cautious",
            "--vars",
            _vars(label, excluded),
        ],
        target="duckdb",
        target_path=Path(env["DBT_TARGET_PATH"]),
        env=env,
    )
    _log(f"  {label}: dbt build of the recommender and its upstream in {time.perf_counter() - started:.0f} s")
    warehouse = Warehouse("duckdb", duckdb_path=db_path)
    with_oracle = False
    if manifest is not None:
        from c360.recs import step as recs_step

        with_oracle, line = recs_step.oracle(warehouse, "", manifest)
        _log(f"  {label}: {line}")
    if with_oracle and not learned:
        run_dbt(
            ["build", "--select", *recs_model.REBUILD_SELECTION, "--vars", _vars(label, excluded)],
            target="duckdb",
            target_path=Path(env["DBT_TARGET_PATH"]),
            env=env,
        )
    if learned:
        started = time.perf_counter()
        recs_model.refresh(
            warehouse,
            excluded=excluded,
            dbt_args=["--vars", _vars(label, excluded)],
            target_path=Path(env["DBT_TARGET_PATH"]),
            env=env,
        )
        _log(f"  {label}: LightGBM and recommender rebuild in {time.perf_counter() - started:.0f} s")
    return read_evaluation(warehouse)


def _generated_label(customers: int, seed: int) -> str:
    """Name of a generated data set: its directory under --workdir and its dataset label."""
    return f"generated_{customers}_seed{seed}"


def evaluate_generated(workdir: Path, customers: int, seed: int, days: int) -> pd.DataFrame:
    """Generate `customers` customers (fixed seed and now) and evaluate on them."""
    from data_gen.generate.generator import generate

    directory = workdir / _generated_label(customers, seed)
    raw_dir = directory / "raw"
    shutil.rmtree(raw_dir, ignore_errors=True)
    started = time.perf_counter()
    generate(customers=customers, seed=seed, out=raw_dir, days=days, fmt="csv", now=GENERATED_NOW)
    _log(f"  generated {customers:,} customers (seed {seed}) in {time.perf_counter() - started:.0f} s")
    return build_and_evaluate(
        raw_dir, directory, _generated_label(customers, seed), manifest=raw_dir / "manifest.json"
    )


def oracle_share(table: pd.DataFrame, method: str) -> dict[int, float]:
    """Per k, the share of the oracle's lift over the best baseline that `method` reaches:
    (method - best baseline) / (oracle - best baseline), from `c360.recs.oracle.compare`'s table."""
    shares = {}
    for k, group in table.groupby("k"):
        rates = group.set_index("method")["hit_rate"]
        best = rates.drop(labels=["model", "lightgbm", "served", "oracle"], errors="ignore").max()
        gap = rates["oracle"] - best
        shares[int(k)] = float((rates[method] - best) / gap) if gap > 0 else float("nan")
    return shares


def ceiling_generated(workdir: Path, customers: int, seed: int, days: int, served: str = "model") -> str:
    """The oracle comparison (c360.recs.oracle) on the generated warehouse built by
    `evaluate_generated` with the same arguments, as a Markdown section, with the share of the
    oracle's lift that the served method reaches."""
    from c360.recs import oracle as recs_oracle

    label = _generated_label(customers, seed)
    started = time.perf_counter()
    latent = recs_oracle.latent_state(customers, seed, days, GENERATED_NOW)
    table = recs_oracle.compare(Path(_duckdb_env(workdir / label)["C360_DUCKDB_PATH"]), latent)
    _log(f"  oracle on {label} in {time.perf_counter() - started:.0f} s")
    return (
        f"Ceiling on {label}: the oracle ranks each test customer's new "
        "categories by the generator's true odds (latent taste + planted transitions), which no "
        "model can see; model and baselines re-scored on the same customers:\n\n"
        + recs_oracle.format_comparison(table)
        + f"\n\nServed method ({served}): "
        + ", ".join(
            f"{share:.0%} of the oracle's lift at k = {k}" for k, share in oracle_share(table, served).items()
        )
    )


def evaluate_sample(workdir: Path) -> pd.DataFrame:
    """Evaluate on the exercise's own sample (c360.config.sample_dir())."""
    raw_dir = config.sample_dir()
    if not (raw_dir / "transactions.csv").is_file():
        raise FileNotFoundError(f"exercise sample not found at {raw_dir} (set C360_SAMPLE_DIR)")
    return build_and_evaluate(raw_dir, workdir / "exercise_sample", "exercise_sample")


def evaluate_current() -> pd.DataFrame:
    """Rebuild the recommender models on the configured warehouse and return its evaluation."""
    target = config.target()
    run_dbt(["build", "--select", RECS_SELECTOR], target=target)
    return read_evaluation(Warehouse.from_env())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m c360.recs.evaluation", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--datasets", default=",".join(DATASETS), help="comma-separated: generated, sample (default both)"
    )
    parser.add_argument("--customers", type=int, default=100_000, help="generated customers (default 100000)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument("--days", type=int, default=365, help="generated history in days (default 365)")
    parser.add_argument(
        "--households",
        type=int,
        default=None,
        help="Complete Journey households in the real-data slice (default c360.recs.real_data's)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=config.REPO_ROOT / "data" / "recs_eval",
        help="scratch directory for the isolated warehouses (default data/recs_eval)",
    )
    parser.add_argument(
        "--current",
        action="store_true",
        help="evaluate the configured warehouse (DBT_TARGET) instead of fixed data sets",
    )
    args = parser.parse_args(argv)
    args.dataset_list = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = sorted(set(args.dataset_list) - set(DATASETS))
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    if args.customers <= 0 or args.days <= 0 or (args.households is not None and args.households <= 0):
        parser.error("--customers, --days and --households must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation(s), print the Markdown table; exit code 1 on a build or data error."""
    args = parse_args(argv)
    frames = []
    ceiling = ""
    try:
        if args.current:
            frames.append(evaluate_current())
        else:
            args.workdir.mkdir(parents=True, exist_ok=True)
            if "generated" in args.dataset_list:
                frames.append(evaluate_generated(args.workdir, args.customers, args.seed, args.days))
                served = str(frames[-1]["served_method"].iloc[0])
                ceiling = ceiling_generated(args.workdir, args.customers, args.seed, args.days, served)
            if "sample" in args.dataset_list:
                frames.append(evaluate_sample(args.workdir))
            if "completejourney" in args.dataset_list:
                from c360.recs import real_data

                frames.append(
                    real_data.evaluate(args.workdir, args.households or real_data.DEFAULT_HOUSEHOLDS)
                )
    except (DbtError, WarehouseError, FileNotFoundError, ValueError, OSError, RuntimeError) as exc:
        print(f"eval-recs: error: {exc}", file=sys.stderr)
        return 1
    print(format_markdown(pd.concat(frames, ignore_index=True)))
    if ceiling:
        print("\n" + ceiling)
    return 0


if __name__ == "__main__":
    sys.exit(main())
