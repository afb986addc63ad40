"""The app warns when the last `make build` failed or was killed, naming the step and the served build.

The attempt is `build_status.json` in DBT_TARGET_PATH as c360/publish.py writes it; the time of
the served build is the published marker row `quality.build_status`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from app_store import write_artifacts
from test_app_helpers import PAGES, open_page

from c360.publish import BuildAttempt, write_duckdb_marker

SERVED_AT = "2026-11-30T06:15:00+00:00"


def _served_copy(demo_db: Path, tmp_path: Path, marker: bool = True) -> Path:
    """A copy of the demo warehouse with a published marker row finished at SERVED_AT."""
    path = tmp_path / "served" / "c360.duckdb"
    path.parent.mkdir()
    shutil.copy(demo_db, path)
    if marker:
        write_duckdb_marker(path, BuildAttempt("duckdb"))
        with duckdb.connect(str(path)) as con:
            con.execute("update quality.build_status set finished_at = ?", [SERVED_AT])
    return path


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _warnings(target: Path, attempt: BuildAttempt) -> list[str]:
    write_artifacts(target)
    attempt.save(target)
    at = open_page(PAGES[0])  # AppTest drops app.py's own elements after switch_page
    return [str(w.value) for w in at.warning]


def test_failed_build_names_its_step_and_the_served_build(demo_db: Path, tmp_path: Path, use_db) -> None:
    target = use_db(_served_copy(demo_db, tmp_path))
    attempt = BuildAttempt("duckdb", step="dbt build", status="failed", cause="2 tests failed")
    expected = (
        "The last build failed at dbt build; showing the build of 2026-11-30 06:15 UTC; run `make build`."
    )
    assert _warnings(target, attempt) == [expected]


def test_killed_build_says_it_was_stopped(demo_db: Path, tmp_path: Path, use_db) -> None:
    target = use_db(_served_copy(demo_db, tmp_path))
    attempt = BuildAttempt("duckdb", step="publish", pid=_dead_pid())  # still `running`, process gone
    warnings = _warnings(target, attempt)
    assert len(warnings) == 1
    assert warnings[0].startswith("The last build failed at publish (the build process was stopped); ")
    assert "showing the build of 2026-11-30 06:15 UTC" in warnings[0]
    assert warnings[0].endswith("run `make build`.")


def test_no_marker_says_an_earlier_build(demo_db: Path, tmp_path: Path, use_db) -> None:
    target = use_db(_served_copy(demo_db, tmp_path, marker=False))
    attempt = BuildAttempt("duckdb", step="source freshness", status="failed", cause="stale")
    assert _warnings(target, attempt) == [
        "The last build failed at source freshness; showing an earlier build (no build marker); "
        "run `make build`."
    ]


@pytest.mark.parametrize("status", ["succeeded", "running"])
def test_no_notice_after_a_good_build_or_while_one_runs(
    status: str, demo_db: Path, tmp_path: Path, use_db
) -> None:
    target = use_db(_served_copy(demo_db, tmp_path))
    attempt = BuildAttempt("duckdb", step="dbt build", status=status)  # this (living) process's pid
    assert _warnings(target, attempt) == []
