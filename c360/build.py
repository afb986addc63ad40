"""`make build`: load raw data if the warehouse has none, check source freshness, dbt build.

Steps (stop at the first failure, exit status 1):
1. If the raw tables are missing on DBT_TARGET (duckdb/postgres), generate a data set into
   data/raw with the Makefile defaults and load it (data_gen APIs).
2. `dbt source freshness`: writes sources.json; a source past its error_after threshold fails
   the build here, before any model is (re)published. Warnings are reported and go on.
   `FRESHNESS=warn` (env C360_FRESHNESS) reports stale sources and builds; `FRESHNESS=skip`
   does not check (historical data).
3. `dbt build` (seeds, models, snapshot, tests, unit tests): writes run_results.json;
   `FULL_REFRESH=1` (env C360_FULL_REFRESH) rebuilds incremental models from scratch.
Both artifacts stay in DBT_TARGET_PATH for the app. Only artifacts this run wrote are read, and
a failure names its real cause (c360/build_report.py). One summary line is printed at the end.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from c360 import config
from c360.build_report import read_step
from c360.dbt_runner import run_dbt
from c360.quarantine_gate import gate_messages
from c360.warehouse import Warehouse, table_exists

RAW_TABLES = (("salesforce", "contacts"), ("web", "transactions"))
DEFAULT_CUSTOMERS = 5000  # Makefile CUSTOMERS
DEFAULT_SEED = 42  # Makefile SEED
DEFAULT_DAYS = 365  # Makefile DAYS
RAW_DIR = config.REPO_ROOT / "data" / "raw"


def raw_tables_present(warehouse: Warehouse) -> bool:
    """True when both raw tables exist in `warehouse` (never creates a database file)."""
    if warehouse.engine == "duckdb" and not (warehouse.duckdb_path and warehouse.duckdb_path.exists()):
        return False
    return all(table_exists(warehouse, schema, table) for schema, table in RAW_TABLES)


def load_if_needed(target: str) -> str:
    """Generate + load the default data set when the raw tables are missing; returns what was done."""
    # spark: loading is done by `make data`/the Spark loader; dbt reports a missing source
    if target == "spark" or raw_tables_present(Warehouse.from_env()):
        return "raw tables present"
    from data_gen.generate.generator import generate
    from data_gen.load.loader import load

    contacts, transactions = RAW_DIR / "contacts.csv", RAW_DIR / "transactions.csv"
    if not (contacts.is_file() and transactions.is_file()):
        generate(customers=DEFAULT_CUSTOMERS, seed=DEFAULT_SEED, out=RAW_DIR, days=DEFAULT_DAYS)
    result = load(target, contacts=contacts, transactions=transactions)
    return result.summary()


FRESHNESS_MODES = ("error", "warn", "skip")


def freshness_mode() -> str:
    """`make build FRESHNESS=...` (env C360_FRESHNESS): error (default) stops on a stale source,
    warn reports it and builds, skip does not check (historical data, e.g. a public data set)."""
    mode = os.environ.get("C360_FRESHNESS", "error").strip().lower() or "error"
    if mode not in FRESHNESS_MODES:
        raise ValueError(f"FRESHNESS={mode!r} is not one of {', '.join(FRESHNESS_MODES)}")
    return mode


def freshness_lines(sources_json: Path) -> list[str]:
    """`source: status` lines from dbt's sources.json."""
    results = json.loads(sources_json.read_text())["results"]
    return [f"{r['unique_id'].removeprefix('source.c360.')}: {r['status']}" for r in results]


def _fail(message: str) -> int:
    print(f"build FAILED: {message}", file=sys.stderr)
    return 1


def run(target: str, artifacts: Path) -> int:
    """The build steps; returns the exit status."""
    mode = freshness_mode()
    loaded = load_if_needed(target)
    print(f"[1/3] {loaded}")

    if mode == "skip":
        print("[2/3] source freshness: skipped (FRESHNESS=skip)")
    else:
        started = time.time()
        freshness = run_dbt(["source", "freshness"], check=False)
        fresh = read_step("source freshness", freshness.returncode, freshness.stdout + freshness.stderr,
                          artifacts / "sources.json", started)
        if not fresh.has_results:
            return _fail(f"dbt source freshness: {fresh.cause}")
        print(f"[2/3] source freshness: {', '.join(freshness_lines(artifacts / 'sources.json'))}")
        stale = fresh.counts.get("error", 0) + fresh.counts.get("runtime error", 0)
        if stale and mode == "error":
            return _fail(
                f"stale or unreadable source ({', '.join(fresh.failed_nodes)}; see sources.json); models "
                "were not rebuilt. For historical data run `make build FRESHNESS=warn` (report and build) "
                "or `make build FRESHNESS=skip`."
            )
        if stale:
            print(f"      stale sources, building anyway (FRESHNESS=warn): {', '.join(fresh.failed_nodes)}")

    args = ["build", *(["--full-refresh"] if os.environ.get("C360_FULL_REFRESH") in ("1", "true") else [])]
    started = time.time()
    build = run_dbt(args, check=False)
    report = read_step("build", build.returncode, build.stdout + build.stderr, artifacts / "run_results.json",
                       started)
    if not report.ok:
        tail = "\n".join(build.stdout.splitlines()[-20:])
        print(tail, file=sys.stderr)
        results = artifacts / "run_results.json"
        gate = gate_messages(results, Warehouse.from_env()) if target != "spark" else []
        if gate:
            return _fail("quarantine gate, the marts were not published:\n  " + "\n  ".join(gate))
        return _fail(f"dbt {' '.join(args)} on {target}: {report.counts_line()}; cause: {report.cause}")
    print(f"[3/3] build OK on {target}: {report.counts_line()}; artifacts in {artifacts}")
    return 0


def main() -> int:
    """Run the build; print one summary line; 0 on success, 1 on failure (never a traceback)."""
    target = config.target()
    try:
        return run(target, config.dbt_target_path())
    except Exception as exc:  # reported as one line, never a traceback
        return _fail(f"{type(exc).__name__} on {target}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
