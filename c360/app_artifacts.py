"""Read the dbt artifacts the app shows: `run_results.json`, `sources.json`, `manifest.json`.

They live in `$DBT_TARGET_PATH` (default `dbt_c360/target`), kept there by `make build`.
Parsing is cached on the file's modification time, so a new build shows at once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from c360 import config
from c360.app_db import AppDataError

RESULT_COLUMNS = [
    "unique_id",
    "resource_type",
    "name",
    "model",
    "status",
    "failures",
    "execution_time",
    "relation_name",
    "message",
]
FRESHNESS_COLUMNS = [
    "source",
    "status",
    "max_loaded_at",
    "snapshotted_at",
    "age_hours",
    "warn_after",
    "error_after",
]


def target_path() -> Path:
    """The dbt artifacts directory (`DBT_TARGET_PATH`, default `dbt_c360/target`)."""
    raw = Path(os.environ.get("DBT_TARGET_PATH", str(config.DBT_PROJECT_DIR / "target")))
    return raw if raw.is_absolute() else (config.REPO_ROOT / raw)


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


@st.cache_data(ttl=60, show_spinner=False)
def _load_json(path: str, mtime: float) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AppDataError(f"Cannot read `{path}` ({exc}). Run `make build` to write it again.") from exc


def _artifact(name: str) -> dict[str, Any] | None:
    path = target_path() / name
    if not path.exists():
        return None
    return _load_json(str(path), _mtime(path))


def _tested_models(manifest: dict[str, Any] | None) -> dict[str, str]:
    """test unique_id -> name of the model/seed/source it tests (from manifest.json)."""
    if not manifest:
        return {}
    tested: dict[str, str] = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if not unique_id.startswith("test."):
            continue
        parent = node.get("attached_node") or next(iter(node.get("depends_on", {}).get("nodes", [])), None)
        if parent:
            tested[unique_id] = parent.split(".")[-1]
    return tested


def run_results() -> tuple[pd.DataFrame, str | None]:
    """The last build's results, one row per node, and the time it was generated.

    Raises `AppDataError` with what to run when there is no `run_results.json` yet.
    """
    data = _artifact("run_results.json")
    if data is None:
        raise AppDataError(f"No `run_results.json` in `{target_path()}` yet. Run `make build`.")
    tested = _tested_models(_artifact("manifest.json"))
    rows = []
    for result in data.get("results", []):
        unique_id = str(result.get("unique_id", ""))
        parts = unique_id.split(".")
        resource_type = parts[0] if parts else ""
        name = parts[2] if len(parts) > 2 else unique_id
        model = tested.get(unique_id, "") if resource_type == "test" else name
        rows.append(
            {
                "unique_id": unique_id,
                "resource_type": resource_type,
                "name": name,
                "model": model,
                "status": str(result.get("status", "")),
                "failures": result.get("failures"),
                "execution_time": float(result.get("execution_time") or 0.0),
                "relation_name": result.get("relation_name"),
                "message": result.get("message"),
            }
        )
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    return frame, data.get("metadata", {}).get("generated_at")


def status_counts(results: pd.DataFrame) -> pd.DataFrame:
    """Counts per resource type and status (pass/warn/fail/error/success/skipped)."""
    if results.empty:
        return pd.DataFrame(columns=["resource_type", "status", "count"])
    return (
        results.groupby(["resource_type", "status"])
        .size()
        .rename("count")
        .reset_index()
        .sort_values(["resource_type", "status"])
        .reset_index(drop=True)
    )


def source_freshness() -> tuple[pd.DataFrame, str | None]:
    """`dbt source freshness` results, one row per source, or an empty frame when not run yet."""
    data = _artifact("sources.json")
    if data is None:
        return pd.DataFrame(columns=FRESHNESS_COLUMNS), None
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
    return pd.DataFrame(rows, columns=FRESHNESS_COLUMNS), data.get("metadata", {}).get("generated_at")


def _describe_period(period: dict[str, Any] | None) -> str:
    if not period or period.get("count") is None:
        return ""
    return f"{period['count']} {period.get('period', '')}"


def stored_failure_table(relation_name: object, test_name: str) -> str:
    """The table in schema `quality` holding a test's failing rows (relation name, else test name)."""
    if isinstance(relation_name, str) and relation_name:
        return relation_name.split(".")[-1].strip('"`')
    return test_name
