"""`make build`: load raw data if the warehouse has none, check source freshness, dbt build.

Steps (stop at the first failure, exit status 1):
1. If the raw tables are missing on DBT_TARGET (duckdb/postgres), generate a data set into
   data/raw with the Makefile defaults and load it (data_gen APIs).
1b. Identity resolution (c360/identity/): `identity.contact_clusters` / `contact_pairs` written
   into the candidate warehouse (DuckDB) or the shadow schema `identity__next` (Postgres).
2. `dbt source freshness`: writes sources.json; a source past its error_after threshold fails
   the build here, before any model is (re)published. Warnings are reported and go on.
   `FRESHNESS=warn` (env C360_FRESHNESS) reports stale sources and builds; `FRESHNESS=skip`
   does not check (historical data).
3. `dbt build` (seeds, models, snapshot, tests, unit tests): writes run_results.json;
   `FULL_REFRESH=1` (env C360_FULL_REFRESH) rebuilds incremental models from scratch.
3b. The recommender step (c360/recs/step.py) on the same copy: the learned model's scores
   (LightGBM; `C360_RECS_MODEL=off` skips it, as do Spark and too little data) and, on
   generated data, the oracle's lists, then the recommender models are rebuilt so the
   validation window can choose lightgbm; each part prints one line with its time.
4. Publish (c360/publish.py): on DuckDB steps 2-3 run against a candidate copy of the
   warehouse file, which replaces the published file atomically only after dbt build and the
   gates passed, so a build stopped at any moment leaves readers the last good build. The
   marker `quality.build_status` is published with the build; `build_status.json` records
   each attempt's step and outcome for the app.
Both artifacts stay in DBT_TARGET_PATH for the app. Only artifacts this run wrote are read, and
a failure names its real cause (c360/build_report.py). One summary line is printed at the end.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from c360 import build_history, config
from c360.build_report import read_step
from c360.dbt_runner import run_dbt
from c360.publish import (
    NEXT_SUFFIX,
    SCHEMA_SUFFIX_ENV,
    BuildAttempt,
    dbt_schemas,
    discard_duckdb_candidate,
    discard_postgres_shadow,
    prepare_duckdb_candidate,
    prepare_postgres_shadow,
    publish_duckdb,
    publish_postgres,
    write_duckdb_marker,
)
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


def _fail(message: str, attempt: BuildAttempt | None = None, artifacts: Path | None = None) -> int:
    print(f"build FAILED: {message}", file=sys.stderr)
    if attempt is not None and artifacts is not None:
        attempt.finish(artifacts, message.splitlines()[0])
    return 1


def run(target: str, artifacts: Path) -> int:
    """The build steps, the attempt recorded in `build_status.json`; returns the exit status."""
    attempt = BuildAttempt(target)
    attempt.at("load", artifacts)
    started = time.time()
    try:
        status, summary = _steps(target, artifacts, attempt)
    except Exception as exc:
        attempt.finish(artifacts, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if target == "duckdb":
            discard_duckdb_candidate(config.duckdb_path())
        elif target == "postgres" and attempt.status != "succeeded":
            discard_postgres_shadow(config.pg_settings().dsn(), dbt_schemas())
    if status != 0 and attempt.status == "running":
        attempt.finish(artifacts, "failed")
    print(f"      {build_history.record(target, artifacts, status, started, time.time())}")
    if summary:
        print(summary)  # the last line: what was built
    return status


def identity_step(target: str, dbt_env: dict[str, str]) -> str:
    """Identity resolution between load and dbt (c360/identity/step.py), written into the
    warehouse this build writes; returns its summary line. Spark: not run (no `identity` source,
    dbt then keeps one customer per contact id)."""
    from c360.identity.step import SCHEMA, run_duckdb, run_postgres

    threshold, floor = config.identity_thresholds()
    manifest = config.generator_manifest()
    if target == "duckdb":
        return run_duckdb(Path(dbt_env["C360_DUCKDB_PATH"]), threshold, floor, manifest).summary()
    if target == "postgres":
        dsn = config.pg_settings().dsn()
        return run_postgres(dsn, SCHEMA + NEXT_SUFFIX, threshold, floor, manifest).summary()
    return f"identity: not run on {target} (one customer per contact id)"


def _steps(target: str, artifacts: Path, attempt: BuildAttempt) -> tuple[int, str]:
    """The steps; returns the exit status and, on success, the summary line."""
    mode = freshness_mode()
    loaded = load_if_needed(target)
    print(f"[1/3] {loaded}")
    dbt_env: dict[str, str] = {}
    if target == "duckdb":  # dbt builds a candidate copy; the published file changes only at publish
        attempt.at("copy", artifacts)
        dbt_env["C360_DUCKDB_PATH"] = str(prepare_duckdb_candidate(config.duckdb_path()))
    elif target == "postgres":  # dbt builds shadow schemas <schema>__next, swapped in at publish
        attempt.at("copy", artifacts)
        prepare_postgres_shadow(config.pg_settings().dsn(), dbt_schemas())
        dbt_env[SCHEMA_SUFFIX_ENV] = NEXT_SUFFIX

    from c360.recs import step as recs_step

    recs_step.clear(target, dbt_env)  # the published build's scores are of older data
    attempt.at("identity", artifacts)
    print(f"      {identity_step(target, dbt_env)}")

    if mode == "skip":
        print("[2/3] source freshness: skipped (FRESHNESS=skip)")
    else:
        attempt.at("source freshness", artifacts)
        started = time.time()
        freshness = run_dbt(["source", "freshness"], check=False, env=dbt_env)
        fresh = read_step(
            "source freshness",
            freshness.returncode,
            freshness.stdout + freshness.stderr,
            artifacts / "sources.json",
            started,
        )
        if not fresh.has_results:
            return _fail(f"dbt source freshness: {fresh.cause}", attempt, artifacts), ""
        print(f"[2/3] source freshness: {', '.join(freshness_lines(artifacts / 'sources.json'))}")
        stale = fresh.counts.get("error", 0) + fresh.counts.get("runtime error", 0)
        if stale and mode == "error":
            return _fail(
                f"stale or unreadable source ({', '.join(fresh.failed_nodes)}; see sources.json); models "
                "were not rebuilt. For historical data run `make build FRESHNESS=warn` (report and build) "
                "or `make build FRESHNESS=skip`.",
                attempt,
                artifacts,
            ), ""
        if stale:
            print(f"      stale sources, building anyway (FRESHNESS=warn): {', '.join(fresh.failed_nodes)}")

    args = ["build", *(["--full-refresh"] if os.environ.get("C360_FULL_REFRESH") in ("1", "true") else [])]
    attempt.at("dbt build", artifacts)
    started = time.time()
    build = run_dbt(args, check=False, env=dbt_env)
    report = read_step(
        "build", build.returncode, build.stdout + build.stderr, artifacts / "run_results.json", started
    )
    if not report.ok:
        tail = "\n".join(build.stdout.splitlines()[-20:])
        print(tail, file=sys.stderr)
        results = artifacts / "run_results.json"
        gate = (
            gate_messages(results, Warehouse.from_env({**os.environ, **dbt_env})) if target != "spark" else []
        )
        if gate:
            return _fail(
                "quarantine gate, the marts were not published:\n  " + "\n  ".join(gate), attempt, artifacts
            ), ""
        return _fail(
            f"dbt {' '.join(args)} on {target}: {report.counts_line()}; cause: {report.cause}",
            attempt,
            artifacts,
        ), ""
    attempt.at("recs model", artifacts)
    recs = recs_step.run(target, dbt_env, artifacts)
    for line in recs.lines:
        print(f"      {line}")
    if recs.error:
        return _fail(recs.error, attempt, artifacts), ""
    attempt.at("publish", artifacts)
    if target == "duckdb":
        write_duckdb_marker(Path(dbt_env["C360_DUCKDB_PATH"]), attempt)
        publish_duckdb(Path(dbt_env["C360_DUCKDB_PATH"]), config.duckdb_path())
    elif target == "postgres":
        # manifest.json / semantic_manifest.json name the shadow schemas: parse again for the
        # published names first (the app and `mf` read them)
        parse = run_dbt(["parse"], check=False)
        if parse.returncode != 0:
            return _fail(
                f"dbt parse (published schema names) on {target}: exit {parse.returncode}", attempt, artifacts
            ), ""
        publish_postgres(config.pg_settings().dsn(), dbt_schemas(), attempt)
    attempt.finish(artifacts)
    return 0, (
        f"[3/3] build OK on {target}: {report.counts_line()}; published build {attempt.build_id}; "
        f"artifacts in {artifacts}"
    )


def main() -> int:
    """Run the build; print one summary line; 0 on success, 1 on failure (never a traceback)."""
    target = config.target()
    try:
        return run(target, config.dbt_target_path())
    except Exception as exc:  # reported as one line, never a traceback
        return _fail(f"{type(exc).__name__} on {target}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
