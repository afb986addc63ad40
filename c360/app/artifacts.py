"""Read the artifacts the app shows: `run_results.json`, `sources.json`, `manifest.json`, `build_status.json`.

They live in `$DBT_TARGET_PATH` (default `dbt_c360/target`), kept there by `make build`.
Only the small parsed tables are cached (keyed by path and modification time, so a new
build shows at once); the raw JSON, which can be megabytes, is never kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from c360 import config
from c360.app.ui import AppDataError, md_escape
from c360.publish import MARKER_SCHEMA, MARKER_TABLE, pid_alive, read_attempt
from c360.warehouse import Warehouse, WarehouseError, query

RESULT_COLUMNS = (
    "unique_id",
    "resource_type",
    "name",
    "model",
    "status",
    "failures",
    "execution_time",
    "relation_name",
    "message",
)
FRESHNESS_COLUMNS = (
    "source",
    "status",
    "max_loaded_at",
    "snapshotted_at",
    "age_hours",
    "warn_after",
    "error_after",
)


def target_path() -> Path:
    """The dbt artifacts directory (`DBT_TARGET_PATH`, default `dbt_c360/target`)."""
    return config.dbt_target_path()


def _version(name: str) -> tuple[str, float]:
    """(path, mtime) of an artifact; mtime 0 when it does not exist."""
    path = target_path() / name
    return str(path), (path.stat().st_mtime if path.exists() else 0.0)


def _read(path: str) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AppDataError(f"Cannot read `{path}` ({exc}). Run `make build` to write it again.") from exc


@st.cache_data(ttl=60, show_spinner=False)
def _tested_models(path: str, mtime: float) -> dict[str, str]:
    """test unique_id -> name of the model/seed/source it tests (from manifest.json)."""
    if not mtime:
        return {}
    tested: dict[str, str] = {}
    for unique_id, node in _read(path).get("nodes", {}).items():
        if not unique_id.startswith("test."):
            continue
        parent = node.get("attached_node") or next(iter(node.get("depends_on", {}).get("nodes", [])), None)
        if parent:
            tested[unique_id] = parent.split(".")[-1]
    return tested


@st.cache_data(ttl=60, show_spinner=False)
def _run_results(path: str, mtime: float, manifest: tuple[str, float]) -> tuple[pd.DataFrame, str | None]:
    data = _read(path)
    tested = _tested_models(*manifest)
    rows = []
    for result in data.get("results", []):
        unique_id = str(result.get("unique_id", ""))
        parts = unique_id.split(".")
        resource_type = parts[0] if parts else ""
        name = parts[2] if len(parts) > 2 else unique_id
        rows.append(
            {
                "unique_id": unique_id,
                "resource_type": resource_type,
                "name": name,
                "model": tested.get(unique_id, "") if resource_type == "test" else name,
                "status": str(result.get("status", "")),
                "failures": result.get("failures"),
                "execution_time": float(result.get("execution_time") or 0.0),
                "relation_name": result.get("relation_name"),
                "message": result.get("message"),
            }
        )
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS)), data.get("metadata", {}).get("generated_at")


def run_results() -> tuple[pd.DataFrame, str | None]:
    """The last build's results, one row per node, and the time they were generated.

    Raises `AppDataError` with what to run when there is no `run_results.json` yet.
    """
    path, mtime = _version("run_results.json")
    if not mtime:
        raise AppDataError(f"No `run_results.json` in `{target_path()}` yet. Run `make build`.")
    return _run_results(path, mtime, _version("manifest.json"))


@st.cache_data(ttl=60, show_spinner=False)
def _source_freshness(path: str, mtime: float) -> tuple[pd.DataFrame, str | None]:
    data = _read(path)
    rows = []
    for result in data.get("results", []):
        criteria = result.get("criteria") or {}
        age = result.get("max_loaded_at_time_ago_in_s")
        rows.append(
            {
                "source": ".".join(str(result.get("unique_id", "")).split(".")[2:]),
                "status": str(result.get("status", "")),
                "max_loaded_at": result.get("max_loaded_at"),
                "snapshotted_at": result.get("snapshotted_at"),
                "age_hours": round(float(age) / 3600, 1) if age is not None else None,
                "warn_after": _describe_period(criteria.get("warn_after")),
                "error_after": _describe_period(criteria.get("error_after")),
            }
        )
    return pd.DataFrame(rows, columns=list(FRESHNESS_COLUMNS)), data.get("metadata", {}).get("generated_at")


def source_freshness() -> tuple[pd.DataFrame, str | None]:
    """`dbt source freshness` results, one row per source, or an empty frame when not run yet."""
    path, mtime = _version("sources.json")
    if not mtime:
        return pd.DataFrame(columns=list(FRESHNESS_COLUMNS)), None
    return _source_freshness(path, mtime)


def _describe_period(period: dict[str, Any] | None) -> str:
    if not period or period.get("count") is None:
        return ""
    return f"{period['count']} {period.get('period', '')}"


def stored_failure_table(relation_name: object, test_name: str) -> str:
    """The table in schema `quality` holding a test's failing rows (relation name, else test name)."""
    if isinstance(relation_name, str) and relation_name:
        return relation_name.split(".")[-1].strip('"`')
    return test_name


def served_build_time(wh: Warehouse) -> str | None:
    """When the served build finished (the marker row `quality.build_status`), None without a marker."""
    try:
        frame = query(wh, f"select finished_at from {MARKER_SCHEMA}.{MARKER_TABLE}")
    except WarehouseError:
        return None
    return str(frame["finished_at"].iloc[0]) if len(frame) else None


def last_build_notice(wh: Warehouse | None) -> str | None:
    """A warning when the last `make build` attempt failed or was stopped, else None.

    The attempt is `build_status.json` (c360/publish.py): `failed`, or `running` with a dead
    process (killed). The served build's time is the published marker row of `wh`.
    """
    attempt = read_attempt(target_path())
    if not attempt or attempt.get("status") == "succeeded":
        return None
    if attempt.get("status") == "running" and pid_alive(attempt.get("pid")):
        return None
    stopped = " (the build process was stopped)" if attempt.get("status") == "running" else ""
    served = served_build_time(wh) if wh is not None else None
    if wh is None:
        showing = "no build is published yet"
    elif served:
        showing = f"showing the build of {md_escape(served)}"
    else:
        showing = "showing an earlier build (no build marker)"
    return (
        f"The last build failed at {md_escape(attempt.get('step', 'an unknown step'))}{stopped}; "
        f"{showing}; run `make build`."
    )
