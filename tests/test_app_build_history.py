"""Build history (`c360.build_history`): two builds' summaries appended to the app's own file and
shown as trends on the Data quality page. Counts are recomputed from the JSON artifacts and with
plain SQL over the built warehouse."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from test_app_helpers import PAGES, open_page, point_app_at

from c360 import build_history
from c360.dbt_runner import run_dbt
from c360.warehouse import Warehouse


def expected_quarantine(built: Any) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for source in ("contacts", "transactions"):
        frame = built.query(f"select reason, count(*) as n from quality.quarantined_{source} group by reason")
        out[source] = dict(zip(frame["reason"], (int(n) for n in frame["n"]), strict=True))
    return out


def test_two_builds_are_appended_and_shown(
    duckdb_warehouse_generated: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = duckdb_warehouse_generated
    target = tmp_path / "target"
    target.mkdir()
    for name in ("run_results.json", "manifest.json"):
        shutil.copy(built.target_path / name, target / name)
    app_dir = tmp_path / "app"
    point_app_at(
        monkeypatch, {**built.env, "DBT_TARGET_PATH": str(target), "C360_APP_DATA_DIR": str(app_dir)}
    )
    wh = Warehouse.from_env()

    # build 1: run_results only (no freshness checked)
    first = build_history.summarise("duckdb", target, 0, 0.0, time.time(), wh)
    build_history.append(first)
    # build 2: a later `dbt source freshness` writes sources.json; run_results.json is older than it
    started = time.time()
    time.sleep(0.05)
    run_dbt(
        ["source", "freshness"],
        target_path=target,
        check=False,
        env={**built.env, "DBT_TARGET_PATH": str(target)},
    )
    second = build_history.summarise("duckdb", target, 1, started, time.time())  # failed: no warehouse read
    build_history.append(second)

    results = json.loads((target / "run_results.json").read_text())["results"]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    expected_tests = {s: sum(1 for r in tests if r["status"] == s) for s in {r["status"] for r in tests}}
    assert first["tests"] == expected_tests
    assert [t["unique_id"] for t in first["failing_tests"]] == [
        r["unique_id"] for r in tests if r["status"] in ("warn", "fail", "error")
    ]
    assert first["quarantine"] == expected_quarantine(built) and first["freshness"] == {}
    sources = json.loads((target / "sources.json").read_text())["results"]
    assert {k: v["status"] for k, v in second["freshness"].items()} == {
        ".".join(r["unique_id"].split(".")[2:]): r["status"] for r in sources
    }
    assert second["tests"] == {} and second["status"] == "failed"  # run_results.json predates build 2

    rows, skipped = build_history.read_history()
    assert rows == [first, second] and skipped == 0
    assert (app_dir / build_history.HISTORY_FILE).exists()

    at = open_page(PAGES[3])
    history = [
        df.value
        for df in at.dataframe
        if "quarantined_rows" in df.value.columns and "build_seconds" in df.value.columns
    ]
    assert len(history) == 1 and len(history[0]) == 2
    total = sum(n for reasons in expected_quarantine(built).values() for n in reasons.values())
    assert list(history[0]["quarantined_rows"]) == [0, total]  # newest first; build 2 had no quarantine read
    assert "2 build(s) recorded" in [c.value for c in at.caption]


def test_unreadable_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    build_history.append({"status": "succeeded", "tests": {"pass": 3}}, path)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n[1, 2]\n")
    build_history.append({"status": "failed", "tests": {}}, path)
    rows, skipped = build_history.read_history(path)
    assert [r["status"] for r in rows] == ["succeeded", "failed"] and skipped == 2
