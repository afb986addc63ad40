"""`make build` publishes whole builds: SIGKILL at several moments never leaves a mixed warehouse.

A first build publishes load A; then a different load B is loaded and builds of it are killed
(with their dbt child: the whole process group) during source freshness, during dbt build and
at publish. After each kill the published warehouse is entirely one build: its marts agree with
each other (sum of marts.transactions.amount == sum of marts.customers.total_spend, row counts
of customers and transactions as that build had them) and its marker row names that build.
A following build, with a reader holding a connection open, succeeds and leaves no candidate
file, no `__next`/`__prev` schema and no `__dbt_backup` relation. On DuckDB and Postgres.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg2
import pytest

from c360 import config
from c360.publish import (
    STATUS_FILE,
    PublishError,
    candidate_path,
    pid_alive,
    prepare_duckdb_candidate,
    publish_duckdb,
)
from tests.conftest import Warehouse, duckdb_warehouse, pg_warehouse

TOTALS_SQL = """
select
    (select build_id from quality.build_status) as build_id,
    (select count(*) from marts.customers) as customers,
    (select count(*) from marts.transactions) as transactions,
    (select round(sum(amount), 2) from marts.transactions) as transaction_spend,
    (select round(sum(total_spend), 2) from marts.customers) as customer_spend
"""


def _build(warehouse: Warehouse, freshness: str = "skip") -> subprocess.Popen[str]:
    """Start `python -m c360.build` in its own process group (so a kill takes dbt with it).

    Ordinary incremental builds (load B replaces A's rows: the fact reconciles); source
    freshness only where a kill lands in it (it is one more dbt run of its own)."""
    return subprocess.Popen(
        [sys.executable, "-m", "c360.build"],
        cwd=config.REPO_ROOT,
        env={**os.environ, **warehouse.env, "C360_FRESHNESS": freshness},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    out, _ = process.communicate(timeout=540)
    assert process.returncode == 0, out
    return out


def _status(warehouse: Warehouse) -> dict[str, object]:
    try:
        return json.loads((warehouse.target_path / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _kill_at(warehouse: Warehouse, step: str, delay: float) -> dict[str, object]:
    """Start a build, SIGKILL its process group `delay` s after it reaches `step`; its last status."""
    process = _build(warehouse, "warn" if step == "source freshness" else "skip")
    deadline = time.monotonic() + 300
    while _status(warehouse).get("step") != step or _status(warehouse).get("pid") != process.pid:
        assert process.poll() is None, f"build ended before {step}: {process.communicate()[0]}"
        assert time.monotonic() < deadline, f"build never reached {step}"
        time.sleep(0.02)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    return _status(warehouse)


LEFTOVERS_SQL = """
select
    (select count(*) from information_schema.tables
     where table_name like '%\\_\\_dbt\\_%' escape '\\'
         and table_schema not like '%\\_\\_next' escape '\\') as leftover_tables,
    (select count(*) from information_schema.schemata
     where schema_name like '%\\_\\_next' escape '\\' or schema_name like '%\\_\\_prev' escape '\\')
        as leftover_schemas
"""


def _published(warehouse: Warehouse) -> dict[str, object]:
    """The served build's marker and mart totals, read the way the app reads (one query each)."""
    row = warehouse.query(TOTALS_SQL).iloc[0]
    state: dict[str, object] = {
        "build_id": row["build_id"],
        "customers": int(row["customers"]),
        "transactions": int(row["transactions"]),
        "transaction_spend": float(row["transaction_spend"]),
        "customer_spend": float(row["customer_spend"]),
    }
    leftovers = warehouse.query(LEFTOVERS_SQL).iloc[0]
    state["leftover_tables"] = int(leftovers["leftover_tables"])
    return {**state, "leftover_schemas": int(leftovers["leftover_schemas"])}


def _marts(state: dict[str, object]) -> dict[str, object]:
    return {k: state[k] for k in ("customers", "transactions", "transaction_spend", "customer_spend")}


@pytest.fixture(params=["duckdb", "postgres"])
def empty_warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    """An empty isolated warehouse of each engine (Postgres: a database of this test alone)."""
    if request.param == "duckdb":
        return duckdb_warehouse(tmp_path)
    settings = request.getfixturevalue("fresh_pg_database")
    return pg_warehouse(settings, tmp_path)


def test_killed_builds_leave_one_whole_build_and_the_next_build_recovers(
    tmp_path: Path, empty_warehouse: Warehouse
) -> None:
    from data_gen.generate.generator import generate

    now = datetime.now(UTC)
    generate(customers=150, seed=3, out=tmp_path / "a", days=90, now=now)
    generate(customers=220, seed=4, out=tmp_path / "b", days=90, now=now)
    warehouse = empty_warehouse
    warehouse.load(tmp_path / "a" / "contacts.csv", tmp_path / "a" / "transactions.csv")
    _finish(_build(warehouse))
    first = _published(warehouse)
    assert first["transaction_spend"] == first["customer_spend"]
    assert first["build_id"] == _status(warehouse)["build_id"]

    warehouse.load(tmp_path / "b" / "contacts.csv", tmp_path / "b" / "transactions.csv")
    states = []
    for step, delay in (("source freshness", 0.5), ("dbt build", 6.0), ("dbt build", 0.0), ("publish", 0.0)):
        attempt = _kill_at(warehouse, step, delay)
        assert attempt["status"] == "running" and not pid_alive(attempt["pid"])  # the app's "killed"
        state = _published(warehouse)
        assert state["transaction_spend"] == state["customer_spend"], (step, state)
        assert state["leftover_tables"] == 0, (step, state)  # shadow objects are never published
        assert state["build_id"] in (first["build_id"], attempt["build_id"]), (step, state)
        if state["build_id"] == first["build_id"]:
            assert _marts(state) == _marts(first), step
        states.append((step, state))

    with _reader(warehouse) as read:  # an app reader stays open during the build
        before = read()
        out = _finish(_build(warehouse))
        assert before in (first["build_id"], *[s["build_id"] for _, s in states])
        assert read() == _status(warehouse)["build_id"]  # the open reader sees the new build
    assert "published build" in out
    final = _published(warehouse)
    assert final["build_id"] == _status(warehouse)["build_id"] and _status(warehouse)["status"] == "succeeded"
    assert final["transaction_spend"] == final["customer_spend"]
    assert final["customers"] > first["customers"]  # load B has more customers than A
    assert (final["leftover_tables"], final["leftover_schemas"]) == (0, 0)
    if warehouse.duckdb_path is not None:
        assert not candidate_path(warehouse.duckdb_path).parent.exists()
    for step, state in states:  # a killed build that did publish published the whole new build
        if state["build_id"] != first["build_id"]:
            assert _marts(state) == _marts(final), step


@contextmanager
def _reader(warehouse: Warehouse) -> Iterator[Callable[[], object]]:
    """A connection held open for the whole block; yields a function reading the marker's build id.

    DuckDB: a read-only connection held by another process (it keeps the file it opened; reads
    open the path per query as the app does); Postgres: one session, as the app's pool keeps.
    """
    if warehouse.duckdb_path is not None:
        hold = (
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(1, flush=True); time.sleep(900)"
        )
        held = subprocess.Popen(
            [sys.executable, "-c", hold, str(warehouse.duckdb_path)], stdout=subprocess.PIPE
        )
        try:
            assert held.stdout is not None and held.stdout.readline()
            yield lambda: warehouse.query("select build_id from quality.build_status")["build_id"][0]
        finally:
            held.kill()
            held.wait()
        return
    assert warehouse.pg is not None
    con = psycopg2.connect(warehouse.pg.dsn())
    con.autocommit = True
    try:
        with con.cursor() as cur:

            def read() -> object:
                cur.execute("select build_id from quality.build_status")
                return cur.fetchone()[0]

            yield read
    finally:
        con.close()


def test_failed_build_keeps_the_published_warehouse(tmp_path: Path, sample_dir: Path) -> None:
    """A build that fails (stale source) records `failed` at its step and changes nothing published."""
    warehouse = duckdb_warehouse(tmp_path)
    warehouse.load(sample_dir / "contacts.csv", sample_dir / "transactions.csv")  # 2023 data: stale
    assert warehouse.duckdb_path is not None
    before = warehouse.duckdb_path.stat().st_mtime_ns, warehouse.duckdb_path.stat().st_ino
    result = subprocess.run(
        [sys.executable, "-m", "c360.build"],
        cwd=config.REPO_ROOT,
        env={**os.environ, **warehouse.env, "C360_FRESHNESS": "error"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    status = _status(warehouse)
    assert status["status"] == "failed" and status["step"] == "source freshness", status
    assert "stale" in str(status["cause"])
    assert (warehouse.duckdb_path.stat().st_mtime_ns, warehouse.duckdb_path.stat().st_ino) == before
    assert not candidate_path(warehouse.duckdb_path).parent.exists()


def test_a_load_during_the_build_is_never_undone_by_the_publish(tmp_path: Path, sample_dir: Path) -> None:
    """The raw schemas live in the DuckDB file: if it changed after the candidate copy was taken
    (a load ran while dbt built), the swap is refused and the newer file stays published."""
    warehouse = duckdb_warehouse(tmp_path)
    warehouse.load(sample_dir / "contacts.csv", sample_dir / "transactions.csv")
    published = warehouse.duckdb_path
    assert published is not None

    def raw_rows() -> int:
        with duckdb.connect(str(published), read_only=True) as con:
            return con.execute("select count(*) from web.transactions").fetchone()[0]

    candidate = prepare_duckdb_candidate(published)
    with duckdb.connect(str(candidate)) as con:
        con.execute("create table web.built_by_candidate as select 1 as x")
        con.execute("checkpoint")
    with duckdb.connect(str(published)) as con:  # the "load" that ran meanwhile
        con.execute("insert into web.transactions select * from web.transactions limit 3")
    loaded = raw_rows()
    with pytest.raises(PublishError, match="changed while this build ran"):
        publish_duckdb(candidate, published)
    assert raw_rows() == loaded  # the load's rows are still there
    assert not candidate.parent.exists()

    candidate = prepare_duckdb_candidate(published)  # nothing writes this time: published
    with duckdb.connect(str(candidate)) as con:
        con.execute("create table web.built_by_candidate as select 1 as x")
        con.execute("checkpoint")
    publish_duckdb(candidate, published)
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from web.built_by_candidate").fetchone()[0] == 1
    assert raw_rows() == loaded
