"""`make build` reports only this run's results and the real cause of a failure (c360/build_report.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from c360 import build, config
from c360.build_report import cause_from_output, read_step
from tests.conftest import Warehouse, duckdb_warehouse

OLD_RESULTS = {"results": [{"unique_id": "model.c360.customers", "status": "success"}] * 7}


def _run_build(warehouse: Warehouse, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "c360.build"],
        cwd=config.REPO_ROOT,
        env={**os.environ, **warehouse.env, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=540,
    )


def test_causes_are_read_from_dbt_output() -> None:
    assert "killed by signal 9" in cause_from_output(-9, "")
    lock = cause_from_output(
        2,
        'Runtime Error\n  IO Error: Could not set lock on file "/x/c360.duckdb": '
        "Conflicting lock is held in /usr/bin/python3 (PID 4242)",
    )
    assert lock.startswith("lock conflict") and "PID 4242" in lock
    parse = cause_from_output(
        2,
        "12:00:00  Encountered an error:\nParsing Error\n  Error reading c360: "
        "models/marts/_marts__models.yml - Runtime Error\n",
    )
    assert parse.startswith("Parsing Error: Error reading c360: models/marts/_marts__models.yml")
    assert cause_from_output(1, "nothing recognisable") is None


def test_an_artifact_of_an_earlier_run_is_never_reported(tmp_path: Path) -> None:
    artifact = tmp_path / "run_results.json"
    artifact.write_text(json.dumps(OLD_RESULTS))
    started = time.time() + 60  # the step started after the artifact was written
    report = read_step("build", -9, "", artifact, started)
    assert not report.has_results and not report.ok
    assert report.counts_line() == "no results written by this run"
    assert "killed by signal 9" in report.cause
    fresh = read_step("build", 1, "", artifact, time.time() - 5)
    assert fresh.has_results and fresh.counts["success"] == 7


def test_killed_dbt_with_stale_or_no_artifacts_reports_the_kill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    monkeypatch.setenv("DBT_TARGET", "duckdb")
    monkeypatch.setenv("C360_DUCKDB_PATH", str(tmp_path / "c360.duckdb"))
    duckdb.connect(str(tmp_path / "c360.duckdb")).close()  # the build copies it to its candidate
    monkeypatch.setenv("C360_FRESHNESS", "skip")
    monkeypatch.setattr(build, "load_if_needed", lambda target: "raw tables present")
    monkeypatch.setattr(build, "identity_step", lambda target, env: "identity: not run (no raw tables here)")

    def killed(args: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(["dbt", *args], -9, "", "")

    monkeypatch.setattr(build, "run_dbt", killed)
    for earlier in (None, OLD_RESULTS):  # no earlier run_results.json, then one of an earlier run
        if earlier:
            (target / "run_results.json").write_text(json.dumps(earlier))
            os.utime(target / "run_results.json", (time.time() - 3600, time.time() - 3600))
        assert build.main() == 1
        err = capsys.readouterr().err
        assert "killed by signal 9" in err and "no results written by this run" in err
        assert "success=7" not in err and "Traceback" not in err


def test_freshness_modes_for_historical_data(tmp_path: Path, sample_dir: Path) -> None:
    """The exercise sample was loaded in 2023: error stops and names FRESHNESS; warn builds."""
    warehouse = duckdb_warehouse(tmp_path)
    warehouse.load(sample_dir / "contacts.csv", sample_dir / "transactions.csv")
    stopped = _run_build(warehouse)
    assert stopped.returncode == 1
    assert "FRESHNESS=warn" in stopped.stderr and "FRESHNESS=skip" in stopped.stderr
    built = _run_build(warehouse, C360_FRESHNESS="warn", C360_FULL_REFRESH="1")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "building anyway (FRESHNESS=warn)" in built.stdout
    run_args = json.loads((warehouse.target_path / "run_results.json").read_text())["args"]
    assert run_args["full_refresh"] is True  # FULL_REFRESH=1 reached dbt
    customers = warehouse.query("select count(*) as n from marts.customers")["n"].iloc[0]
    assert customers > 0
    assert _run_build(warehouse, C360_FRESHNESS="bogus").stderr.count("\n") == 1


def _build_while_held(warehouse: Warehouse, read_only: bool) -> subprocess.CompletedProcess[str]:
    """`make build` (FRESHNESS=skip) while another process holds a DuckDB connection to the
    warehouse file (read-only: an app reader; else a writer)."""
    assert warehouse.duckdb_path is not None
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == '1'); "
            "print('held', flush=True); time.sleep(600)",
            str(warehouse.duckdb_path),
            "1" if read_only else "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        return _run_build(warehouse, C360_FRESHNESS="skip")
    finally:
        holder.kill()
        holder.wait()


def test_a_reader_holding_the_duckdb_file_does_not_stop_the_build(tmp_path: Path, sample_dir: Path) -> None:
    """dbt builds a candidate copy (c360/publish.py), so app readers never block `make build`;
    a writer holding the file (a load) stops it with a message naming the lock, not a stale source."""
    warehouse = duckdb_warehouse(tmp_path)
    warehouse.load(sample_dir / "contacts.csv", sample_dir / "transactions.csv")
    assert warehouse.duckdb_path is not None
    result = _build_while_held(warehouse, read_only=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("[3/3] build OK on duckdb")
    assert "lock" not in result.stderr.lower() and "Traceback" not in result.stderr
    assert warehouse.query("select count(*) as n from quality.build_status")["n"].iloc[0] == 1

    result = _build_while_held(warehouse, read_only=False)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("build FAILED") and "locked by another" in last, result.stderr[-2000:]
    assert "stale" not in last and "Traceback" not in result.stderr
