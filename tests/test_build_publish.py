"""`make build` publishes whole builds: SIGKILL at several moments never leaves a mixed warehouse.

A first build publishes load A; then a different load B is loaded and builds of it are killed
(with their dbt child: the whole process group) during source freshness, during dbt build and
at publish. After each kill the published warehouse is entirely one build: its marts agree with
each other (sum of marts.transactions.amount == sum of marts.customers.total_spend, row counts
of customers and transactions as that build had them) and its marker row names that build.
A following build, with a reader holding the file open, succeeds and leaves no candidate file
and no `__dbt_backup` relation.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from c360 import config
from c360.publish import STATUS_FILE, candidate_path, pid_alive
from tests.conftest import Warehouse, duckdb_warehouse

TOTALS_SQL = """
select
    (select build_id from quality.build_status) as build_id,
    (select count(*) from marts.customers) as customers,
    (select count(*) from marts.transactions) as transactions,
    (select round(sum(amount), 2) from marts.transactions) as transaction_spend,
    (select round(sum(total_spend), 2) from marts.customers) as customer_spend
"""


def _build(warehouse: Warehouse) -> subprocess.Popen[str]:
    """Start `python -m c360.build` in its own process group (so a kill takes dbt with it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "c360.build"],
        cwd=config.REPO_ROOT,
        # a full refresh each time: load B replaces A's rows, which an incremental run does not handle
        env={**os.environ, **warehouse.env, "C360_FRESHNESS": "warn", "C360_FULL_REFRESH": "1"},
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
    process = _build(warehouse)
    deadline = time.monotonic() + 300
    while _status(warehouse).get("step") != step or _status(warehouse).get("pid") != process.pid:
        assert process.poll() is None, f"build ended before {step}: {process.communicate()[0]}"
        assert time.monotonic() < deadline, f"build never reached {step}"
        time.sleep(0.02)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    return _status(warehouse)


def _published(warehouse: Warehouse) -> dict[str, object]:
    assert warehouse.duckdb_path is not None
    with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as con:
        row = con.execute(TOTALS_SQL).fetchone()
        leftovers = con.execute(
            "select count(*) from information_schema.tables "
            "where table_name like '%\\_\\_dbt\\_%' escape '\\'"
        ).fetchone()
    assert row is not None and leftovers is not None
    keys = ("build_id", "customers", "transactions", "transaction_spend", "customer_spend")
    return {**dict(zip(keys, row, strict=True)), "leftovers": leftovers[0]}


def test_killed_builds_leave_one_whole_build_and_the_next_build_recovers(tmp_path: Path) -> None:
    from data_gen.generate.generator import generate

    now = datetime.now(UTC)
    generate(customers=150, seed=3, out=tmp_path / "a", days=90, now=now)
    generate(customers=220, seed=4, out=tmp_path / "b", days=90, now=now)
    warehouse = duckdb_warehouse(tmp_path)
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
        assert state["leftovers"] == 0, (step, state)
        assert state["build_id"] in (first["build_id"], attempt["build_id"]), (step, state)
        if state["build_id"] == first["build_id"]:
            assert state == first, (step, state)
        states.append((step, state))

    with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as reader:  # an app reader stays open
        out = _finish(_build(warehouse))
        assert reader.execute("select build_id from quality.build_status").fetchone() in (
            (first["build_id"],),
            *[(s["build_id"],) for _, s in states],
        )
    assert "published build" in out
    final = _published(warehouse)
    assert final["build_id"] == _status(warehouse)["build_id"] and _status(warehouse)["status"] == "succeeded"
    assert final["transaction_spend"] == final["customer_spend"]
    assert final["customers"] > first["customers"]  # load B has more customers than A
    assert final["leftovers"] == 0
    assert warehouse.duckdb_path is not None
    assert not candidate_path(warehouse.duckdb_path).parent.exists()
    for step, state in states:  # a killed build that did publish published the whole new build
        if state["build_id"] != first["build_id"]:
            assert {k: v for k, v in state.items() if k != "build_id"} == {
                k: v for k, v in final.items() if k != "build_id"
            }, step


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
