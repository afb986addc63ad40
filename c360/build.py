"""`make build`: load raw data if the warehouse has none, check source freshness, dbt build.

Steps (stop at the first failure, exit status 1):
1. If the raw tables are missing on DBT_TARGET (duckdb/postgres), generate a data set into
   data/raw with the Makefile defaults and load it (data_gen APIs).
2. `dbt source freshness`: writes sources.json; a source past its error_after threshold fails
   the build here, before any model is (re)published. Warnings are reported and go on.
3. `dbt build` (seeds, models, snapshot, tests, unit tests): writes run_results.json.
Both artifacts stay in DBT_TARGET_PATH for the app. One summary line is printed at the end.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from c360 import config
from c360.dbt_runner import run_dbt
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


def freshness_summary(sources_json: Path) -> tuple[Counter[str], list[str]]:
    """Status counts and `source: status` lines from dbt's sources.json."""
    results = json.loads(sources_json.read_text())["results"]
    statuses = Counter(r["status"] for r in results)
    lines = [f"{r['unique_id'].removeprefix('source.c360.')}: {r['status']}" for r in results]
    return statuses, lines


def build_summary(run_results: Path) -> Counter[str]:
    """Status counts from dbt's run_results.json."""
    return Counter(r["status"] for r in json.loads(run_results.read_text())["results"])


def main() -> int:
    """Run the build; print one summary line; 0 on success, 1 on failure."""
    target = config.target()
    artifacts = config.dbt_target_path()
    try:
        loaded = load_if_needed(target)
    except Exception as exc:  # reported as one line, never a traceback
        print(f"build FAILED while loading raw data on {target}: {exc}", file=sys.stderr)
        return 1
    print(f"[1/3] {loaded}")

    freshness = run_dbt(["source", "freshness"], check=False)
    sources_json = artifacts / "sources.json"
    if not sources_json.is_file():
        print(f"build FAILED: dbt source freshness produced no sources.json\n{freshness.stdout[-2000:]}")
        return 1
    fresh_counts, fresh_lines = freshness_summary(sources_json)
    print(f"[2/3] source freshness: {', '.join(fresh_lines)}")
    if freshness.returncode != 0 or fresh_counts.get("error") or fresh_counts.get("runtime error"):
        print(
            "build FAILED: stale or unreadable source (see sources.json); models were not rebuilt",
            file=sys.stderr,
        )
        return 1

    build = run_dbt(["build"], check=False)
    counts = build_summary(artifacts / "run_results.json")
    line = ", ".join(f"{status}={n}" for status, n in sorted(counts.items()))
    fresh = ", ".join(f"{status}={n}" for status, n in sorted(fresh_counts.items()))
    if build.returncode != 0:
        tail = "\n".join(build.stdout.splitlines()[-30:])
        print(f"{tail}\nbuild FAILED on {target}: {line} (freshness {fresh})", file=sys.stderr)
        return 1
    print(f"[3/3] build OK on {target}: {line}; freshness {fresh}; artifacts in {artifacts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
