"""Read the artifacts the app shows: `run_results.json`, `sources.json`, `manifest.json`, `build_status.json`.

They live in `$DBT_TARGET_PATH` (default `dbt_c360/target`), kept there by `make build`.
Only the small parsed tables are cached (keyed by path and modification time, so a new
build shows at once); the raw JSON, which can be megabytes, is never kept.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from c360 import build_history, config
from c360.app.ui import AppDataError, md_escape, utc
from c360.publish import MARKER_SCHEMA, MARKER_TABLE, pid_alive, read_attempt
from c360.warehouse import Warehouse, WarehouseError, query

RESULT_COLUMNS = (
    "unique_id",
    "resource_type",
    "name",
    "title",
    "description",
    "severity",
    "test_type",
    "column",
    "parent",
    "model",
    "status",
    "failures",
    "execution_time",
    "relation_name",
    "message",
)
HISTORY_COLUMNS = (
    "finished_at",
    "status",
    "target",
    "tests_passed",
    "warnings",
    "failures",
    "quarantined_rows",
    "build_seconds",
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


_CALL = re.compile(r"(source|ref)\(\s*'([^']+)'(?:\s*,\s*'([^']+)')?\s*\)")


def _relation(text: object) -> str:
    """`source('web', 'transactions')` -> `web.transactions`; `ref('customers')` -> `customers`; else ""."""
    found = _CALL.search(str(text or ""))
    if not found:
        return ""
    kind, first, second = found.groups()
    return f"{first}.{second}" if kind == "source" and second else (second or first)


def describe_test(test_type: str, kwargs: dict[str, Any], tested: str, column: str) -> tuple[str, str]:
    """A readable name and description of a generic test from its manifest metadata."""
    where = f"{tested}.{column}" if column else tested
    if test_type == "unique":
        return f"{where} is unique", f"No two rows of {tested} have the same {column}."
    if test_type == "not_null":
        return f"{where} is never empty", f"Every row of {tested} has a {column}."
    if test_type == "accepted_values":
        values = ", ".join(str(v) for v in kwargs.get("values") or [])
        return f"{where} is one of the accepted values", f"{column} in {tested} is one of: {values}."
    if test_type == "relationships":
        parent, field = _relation(kwargs.get("to")), kwargs.get("field", "")
        return (
            f"{where} exists in {parent}.{field}",
            f"Every {column} in {tested} is found as {field} in {parent}.",
        )
    words = test_type.removeprefix("c360_").replace("_", " ")
    return f"{where}: {words}", f"Generic test `{test_type}` on {where}."


@st.cache_data(ttl=60, show_spinner=False)
def _test_catalog(path: str, mtime: float) -> dict[str, dict[str, str]]:
    """test unique_id -> {tested, column, test_type, title, description, severity} (manifest.json).

    `tested` is the model/seed name or `schema.table` of a source: the relation the test reads
    (the relationships test on `web.transactions` is on `web.transactions`, not on its parent).
    """
    if not mtime:
        return {}
    catalog: dict[str, dict[str, str]] = {}
    for unique_id, node in _read(path).get("nodes", {}).items():
        if not unique_id.startswith("test."):
            continue
        meta = node.get("test_metadata") or {}
        kwargs = meta.get("kwargs") or {}
        parents = node.get("depends_on", {}).get("nodes", [])
        tested = _relation(kwargs.get("model"))
        if not tested and not meta and len(parents) > 1:  # a singular test reads several relations
            tested = ", ".join(
                sorted(
                    {
                        ".".join(p.split(".")[2:]) if p.startswith("source.") else p.split(".")[-1]
                        for p in parents
                    }
                )
            )
        if not tested:
            parent = node.get("attached_node") or next(iter(parents), "")
            is_source = parent.startswith("source.")
            tested = ".".join(parent.split(".")[2:]) if is_source else parent.split(".")[-1]
        column = str(node.get("column_name") or kwargs.get("column_name") or "")
        if meta.get("name"):
            title, description = describe_test(str(meta["name"]), kwargs, tested, column)
        else:
            title = str(node.get("name") or unique_id.split(".")[2]).replace("_", " ").capitalize()
            file = node.get("original_file_path", "")
            description = f"Singular test `{file}`: returns the rows that break its rule."
        catalog[unique_id] = {
            "tested": tested,
            "column": column,
            "test_type": str(meta.get("name") or "singular"),
            # a relationships test's parent `schema.table.field` (its rows need no stored failures)
            "parent": f"{_relation(kwargs.get('to'))}.{kwargs.get('field', '')}" if kwargs.get("to") else "",
            "title": title,
            "description": str(node.get("description") or "").strip() or description,
            "severity": str((node.get("config") or {}).get("severity") or "error").lower(),
        }
    return catalog


@st.cache_data(ttl=60, show_spinner=False)
def _run_results(path: str, mtime: float, manifest: tuple[str, float]) -> tuple[pd.DataFrame, str | None]:
    data = _read(path)
    catalog = _test_catalog(*manifest)
    rows = []
    for result in data.get("results", []):
        unique_id = str(result.get("unique_id", ""))
        parts = unique_id.split(".")
        resource_type = parts[0] if parts else ""
        name = parts[2] if len(parts) > 2 else unique_id
        test = catalog.get(unique_id, {})
        rows.append(
            {
                "unique_id": unique_id,
                "resource_type": resource_type,
                "name": name,
                "title": test.get("title", name),
                "description": test.get("description", ""),
                "severity": test.get("severity", ""),
                "test_type": test.get("test_type", ""),
                "column": test.get("column", ""),
                "parent": test.get("parent", ""),
                "model": test.get("tested", "") if resource_type == "test" else name,
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
        showing = f"showing the build of {utc(served)}"
    else:
        showing = "showing an earlier build (no build marker)"
    return (
        f"The last build failed at {md_escape(attempt.get('step', 'an unknown step'))}{stopped}; "
        f"{showing}; run `make build`."
    )


@st.cache_data(ttl=60, show_spinner=False)
def _build_history(path: str, mtime: float) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    rows, skipped = build_history.read_history(Path(path))
    builds, freshness = [], []
    for row in rows:
        tests = row.get("tests") or {}
        quarantine = row.get("quarantine") or {}
        finished = row.get("finished_at")
        builds.append(
            {
                "finished_at": utc(finished),
                "status": row.get("status"),
                "target": row.get("target"),
                "tests_passed": int(tests.get("pass", 0)),
                "warnings": int(tests.get("warn", 0)),
                "failures": int(tests.get("fail", 0)) + int(tests.get("error", 0)),
                "quarantined_rows": sum(int(n) for reasons in quarantine.values() for n in reasons.values()),
                "build_seconds": row.get("build_seconds"),
            }
        )
        for source, fresh in (row.get("freshness") or {}).items():
            freshness.append(
                {
                    "finished_at": utc(finished),
                    "source": source,
                    "status": fresh.get("status"),
                    "age_hours": fresh.get("age_hours"),
                }
            )
    return (
        pd.DataFrame(builds, columns=list(HISTORY_COLUMNS)),
        pd.DataFrame(freshness, columns=["finished_at", "source", "status", "age_hours"]),
        skipped,
    )


def build_history_frames() -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Every recorded build (oldest first), freshness per source per build, unreadable lines skipped.

    Read from `build_history.jsonl` in the app's own directory (`c360.build_history`).
    """
    path = build_history.history_path()
    mtime = path.stat().st_mtime if path.exists() else 0.0
    if not mtime:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS)), pd.DataFrame(), 0
    return _build_history(str(path), mtime)
