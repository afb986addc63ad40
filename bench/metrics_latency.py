"""`make bench-metrics`: warm latency of every metric through the Python client, on demo data.

Generates the demo data set (5,000 customers by default), loads and builds it on each target,
then, in a child process per target, times every metric of the catalog in three query shapes
(totals, by month, by month and one dimension) through `MetricsClient.query` and the same SQL
run directly. It also renders `trailing_30d_spend` the way it was first defined (the cumulative
window over per-transaction rows) and runs it side by side with the shipped definition (over
the daily per-category aggregate), so the ratio between the two comes from this run.

Nothing here asserts a time: it prints the table and writes bench/results/metrics_latency.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench import probes
from bench.report import machine_facts
from bench.stages import dbt_command, python_stage, run_stage, stage_env
from c360 import config

RUNS = 7
DEMO_CUSTOMERS = 5000  # the Makefile's CUSTOMERS default
SNIPPET = """
import json, statistics, time
from c360.metrics import manifest as metrics_manifest
from c360.metrics.client import MetricsClient, MetricsQueryError
from c360.warehouse import query
from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

RUNS = %(runs)d
client = MetricsClient.from_env()
PREFERRED = ("customer__rfm_segment", "product_category__category_name", "transaction__category")

def timed(fn):
    fn()  # warm: manifest loaded, SQL compiled
    samples = []
    for _ in range(RUNS):
        t = time.perf_counter(); fn(); samples.append(time.perf_counter() - t)
    return statistics.median(samples)

out = []
for info in client.catalog():
    dims = {d.name for d in client.dimensions([info.name])}
    split = next((d for d in PREFERRED if d in dims), None)
    shapes = [("total", {}), ("by month", {"time_grain": "month"})]
    if split:
        shapes.append((f"by month, {split}", {"time_grain": "month", "group_by": [split]}))
    for label, kwargs in shapes:
        try:
            sql = client.sql([info.name], **kwargs)
        except MetricsQueryError:
            continue  # e.g. spend_mom_growth needs metric_time
        c = timed(lambda: client.query([info.name], **kwargs))
        r = timed(lambda: query(client.warehouse, sql, times=True))
        out.append({"metric": info.name, "shape": label, "client": c, "raw": r})

# trailing_30d_spend as first defined: the cumulative window over per-transaction rows.
raw = metrics_manifest.load_manifest_json(client.manifest)
for metric in raw["metrics"]:
    if metric["name"] == "trailing_30d_spend":
        metric["type_params"]["measure"]["name"] = "total_spend"
        metric["type_params"]["input_measures"][0]["name"] = "total_spend"
manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=json.dumps(raw))
engine = MetricFlowEngine(SemanticManifestLookup(manifest),
                          metrics_manifest.RenderOnlySqlClient(client.warehouse.engine))
before = {}
for label, grain in (("by month", "metric_time__month"), ("by day", "metric_time__day")):
    request = MetricFlowQueryRequest.create(metric_names=["trailing_30d_spend"], group_by_names=[grain])
    old_sql = engine.explain(request).sql_statement.sql
    new_sql = client.sql(["trailing_30d_spend"], time_grain=grain.rsplit("__", 1)[1])
    old_frame = query(client.warehouse, old_sql, times=True).sort_values(grain).reset_index(drop=True)
    new_frame = query(client.warehouse, new_sql, times=True).sort_values(grain).reset_index(drop=True)
    same = bool(((old_frame["trailing_30d_spend"].astype(float)
                  - new_frame["trailing_30d_spend"].astype(float)).abs() < 0.01).all())
    before[label] = {"per_transaction": timed(lambda: query(client.warehouse, old_sql, times=True)),
                     "daily_aggregate": timed(lambda: query(client.warehouse, new_sql, times=True)),
                     "same_values": same and len(old_frame) == len(new_frame)}
print("LATENCY " + json.dumps({"queries": out, "trailing": before}))
"""


def measure(target: str, raw_dir: Path, workdir: Path) -> dict[str, Any]:
    """Load, build and time every metric on one target; the snippet's parsed JSON."""
    pg_db = "c360_bench_metrics"
    env = stage_env(target, workdir, pg_db)
    if target == "postgres":
        probes.recreate_pg_database(pg_db)
    py = sys.executable
    run_stage("load", [py, "-m", "data_gen", "load", "--target", target, "--dir", str(raw_dir)], env)
    run_stage("dbt build", dbt_command(["build"]), env, cwd=config.DBT_PROJECT_DIR)
    result = python_stage("metric latency", SNIPPET % {"runs": RUNS}, env)
    if target == "postgres":
        probes.drop_pg_database(pg_db)
    line = [ln for ln in result.output.splitlines() if ln.startswith("LATENCY ")][-1]
    return json.loads(line.removeprefix("LATENCY "))


def render(results: dict[str, dict[str, Any]], customers: int, seconds: float) -> str:
    """Markdown: summary per target, the trailing-spend before/after ratio, then every query."""
    targets = list(results)
    lines = [
        "# Metric query latency (warm, Python client)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC in one run of "
        f"`make bench-metrics` ({seconds / 60:.1f} min) on {customers:,} generated customers"
        f"{' (the demo size)' if customers == DEMO_CUSTOMERS else ''}. Median of {RUNS} warm runs "
        f"per query. Machine: {machine_facts()}.",
        "",
        "| target | queries | median ms | slowest ms (query) | over 100 ms | client / raw SQL (median) |",
        "| --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for target in targets:
        queries = results[target]["queries"]
        times = [q["client"] * 1000 for q in queries]
        slowest = max(queries, key=lambda q: q["client"])
        ratio = statistics.median(q["client"] / q["raw"] for q in queries)
        lines.append(
            f"| {target} | {len(queries)} | {statistics.median(times):.0f} | "
            f"{slowest['client'] * 1000:.0f} ({slowest['metric']}, {slowest['shape']}) | "
            f"{sum(t > 100 for t in times)} | {ratio:.2f}x |"
        )
    lines += [
        "",
        "`trailing_30d_spend`, SQL only: cumulative window over per-transaction rows (first "
        "definition) vs over the daily per-category aggregate (shipped), same run:",
        "",
        "| target | shape | per-transaction ms | daily aggregate ms | speed-up | same values |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for target in targets:
        for shape, t in results[target]["trailing"].items():
            lines.append(
                f"| {target} | {shape} | {t['per_transaction'] * 1000:.0f} | "
                f"{t['daily_aggregate'] * 1000:.0f} | {t['per_transaction'] / t['daily_aggregate']:.1f}x | "
                f"{'yes' if t['same_values'] else 'NO'} |"
            )
    lines += ["", "Every query (client ms / raw SQL ms):", "",
              "| metric | shape | " + " | ".join(targets) + " |",
              "| --- | --- | " + " | ".join("---:" for _ in targets) + " |"]
    by_key = {t: {(q["metric"], q["shape"]): q for q in results[t]["queries"]} for t in targets}
    for metric, shape in by_key[targets[0]]:
        cells = []
        for target in targets:
            q = by_key[target].get((metric, shape))
            cells.append(f"{q['client'] * 1000:.0f} / {q['raw'] * 1000:.0f}" if q else "")
        lines.append(f"| {metric} | {shape} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Parse options, measure each target and write the report."""
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_latency", description=__doc__)
    parser.add_argument("--customers", type=int, default=DEMO_CUSTOMERS, help="customers (default: demo)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed")
    parser.add_argument("--targets", default="duckdb,postgres", help="engines to measure (default both)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/c360_bench_metrics"), help="scratch dir")
    parser.add_argument("--out", type=Path,
                        default=config.REPO_ROOT / "bench" / "results" / "metrics_latency.md",
                        help="markdown report path")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    shutil.rmtree(args.workdir, ignore_errors=True)
    raw_dir = args.workdir / "raw"
    raw_dir.mkdir(parents=True)
    run_stage("generate", [sys.executable, "-m", "data_gen", "generate", "--customers", str(args.customers),
                           "--seed", str(args.seed), "--out", str(raw_dir), "--quiet"],
              stage_env("duckdb", args.workdir, "unused"))
    results = {}
    for target in [t for t in args.targets.split(",") if t]:
        print(f"== {target}", file=sys.stderr, flush=True)
        results[target] = measure(target, raw_dir, args.workdir)
    text = render(results, args.customers, time.perf_counter() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
