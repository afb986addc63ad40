"""Build history: every `make build` appends one summary line to `$C360_APP_DATA_DIR/build_history.jsonl`.

A summary holds the build's outcome, target and time, the test counts per status and the failing
tests from `run_results.json`, the freshness per source from `sources.json`, and the quarantine
counts by reason read from the published warehouse. Only artifacts written by this build (modified
after it started) are read, so a failed step never reports the previous build's results. The
file belongs to the app (like saved audiences), not to the dbt schemas; the Data quality page
reads it for trends across builds.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from c360 import config
from c360.warehouse import Warehouse, WarehouseError, query, table_exists

HISTORY_FILE = "build_history.jsonl"
QUARANTINE_TABLES = (("contacts", "quarantined_contacts"), ("transactions", "quarantined_transactions"))
PROBLEM_STATUSES = ("warn", "fail", "error", "runtime error")


def history_path() -> Path:
    """`build_history.jsonl` in the app's own directory (`c360.config.app_data_dir()`)."""
    return config.app_data_dir() / HISTORY_FILE


def _fresh_json(path: Path, started: float) -> dict[str, Any] | None:
    """The artifact's JSON when this build wrote it (modified at or after `started`), else None."""
    try:
        if path.stat().st_mtime < started:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def test_summary(run_results: dict[str, Any]) -> dict[str, Any]:
    """Test counts per status and the tests that did not pass (name, status, failing rows)."""
    counts: dict[str, int] = {}
    failing = []
    for result in run_results.get("results", []):
        unique_id = str(result.get("unique_id", ""))
        if not unique_id.startswith("test."):
            continue
        status = str(result.get("status", ""))
        counts[status] = counts.get(status, 0) + 1
        if status in PROBLEM_STATUSES:
            failing.append({"unique_id": unique_id, "status": status, "failures": result.get("failures")})
    return {
        "tests": counts,
        "failing_tests": failing,
        "dbt_seconds": round(float(run_results.get("elapsed_time") or 0.0), 1),
    }


def freshness_summary(sources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """source -> {status, age_hours, max_loaded_at} from `sources.json`."""
    out = {}
    for result in sources.get("results", []):
        name = ".".join(str(result.get("unique_id", "")).split(".")[2:])
        age = result.get("max_loaded_at_time_ago_in_s")
        out[name] = {
            "status": str(result.get("status", "")),
            "age_hours": None if age is None else round(float(age) / 3600, 2),
            "max_loaded_at": result.get("max_loaded_at"),
        }
    return out


def quarantine_summary(wh: Warehouse) -> dict[str, dict[str, int]]:
    """source -> reason -> quarantined rows in the (published) warehouse; {} for a missing table."""
    out: dict[str, dict[str, int]] = {}
    for source, table in QUARANTINE_TABLES:
        if not table_exists(wh, "quality", table):
            continue
        frame = query(wh, f"select reason, count(*) as n from quality.{table} group by reason")
        out[source] = {str(r): int(n) for r, n in zip(frame["reason"], frame["n"], strict=True)}
    return out


def summarise(
    target: str,
    artifacts: Path,
    status: int,
    started: float,
    finished: float,
    wh: Warehouse | None = None,
) -> dict[str, Any]:
    """One build's summary (see the module docstring); quarantine counts only from `wh` when given."""
    summary: dict[str, Any] = {
        "finished_at": dt.datetime.fromtimestamp(finished, dt.UTC).replace(microsecond=0).isoformat(),
        "target": target,
        "status": "succeeded" if status == 0 else "failed",
        "build_seconds": round(finished - started, 1),
        "tests": {},
        "failing_tests": [],
        "freshness": {},
        "quarantine": {},
    }
    results = _fresh_json(artifacts / "run_results.json", started)
    if results is not None:
        summary.update(test_summary(results))
    sources = _fresh_json(artifacts / "sources.json", started)
    if sources is not None:
        summary["freshness"] = freshness_summary(sources)
    if wh is not None:
        try:
            summary["quarantine"] = quarantine_summary(wh)
        except WarehouseError as exc:
            summary["quarantine_error"] = str(exc)
    return summary


def append(summary: dict[str, Any], path: Path | None = None) -> Path:
    """Append `summary` as one JSON line to `path` (default `history_path()`); returns the path."""
    path = path or history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(summary, sort_keys=True) + "\n")
    return path


def read_history(path: Path | None = None) -> tuple[list[dict[str, Any]], int]:
    """Every readable summary, oldest first, and the number of unreadable lines skipped."""
    path = path or history_path()
    if not path.exists():
        return [], 0
    rows, skipped = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            skipped += 1
            continue
        if isinstance(row, dict):
            rows.append(row)
        else:
            skipped += 1
    return rows, skipped


def record(target: str, artifacts: Path, status: int, started: float, finished: float) -> str:
    """Summarise and append this build (called by `c360.build.run`); returns a line to print.

    Never raises: the build's outcome does not depend on its history.
    """
    try:
        wh = Warehouse.from_env() if status == 0 and target in ("duckdb", "postgres") else None
        path = append(summarise(target, artifacts, status, started, finished, wh))
    except Exception as exc:  # noqa: BLE001 - history is best effort; the build result stands
        return f"build history not written: {type(exc).__name__}: {exc}"
    return f"build history: appended to {path}"
