"""The Metrics explorer's access to the semantic layer (`c360.metrics.client`), cached and made friendly.

Everything the user picks reaches SQL only through `MetricsClient`, which checks names
against the catalog and values against an allow-list pattern. Results are cached with a
TTL and keyed by the semantic manifest's and the warehouse's versions, so a rebuild shows.
The explorer's state round-trips through the URL (`st.query_params`) with
`state_from_params` / `state_to_params`, so a view can be shared and restored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from c360.app.data import TTL_SECONDS, Period
from c360.app.ui import AppDataError
from c360.warehouse import Warehouse, WarehouseError

FILTER_VALUE_LIMIT = 200


@dataclass(frozen=True)
class ExplorerState:
    """One explorer view: what the URL stores and what a query needs."""

    metrics: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ()
    grain: str | None = None
    filter_dim: str | None = None
    filter_values: tuple[str, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None


def _client() -> Any:
    """A `c360.metrics.client.MetricsClient` for the current environment, or a friendly AppDataError."""
    try:
        from c360.metrics import client as metrics
    except ImportError as exc:
        raise AppDataError(
            f"The semantic-layer client `c360.metrics.client` is not available ({exc}). "
            "Install the requirements (`make setup`) and run `make build`."
        ) from exc
    try:
        return metrics.MetricsClient.from_env()
    except ValueError as exc:
        raise AppDataError(str(exc)) from exc


def _friendly(exc: Exception) -> AppDataError:
    """Turn the client's exceptions into messages that say what to do."""
    name = type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        return AppDataError(f"No semantic manifest yet ({exc}). Run `make build`.")
    if name == "MetricsQueryError":
        return AppDataError(f"The semantic layer cannot answer this query: {exc}")
    return AppDataError(
        f"The metrics query failed: {str(exc).splitlines()[0] if str(exc) else name}. "
        "Rebuilding may help: `make build`."
    )


def manifest_version() -> float:
    """Modification time of the semantic manifest (0 when it is missing): part of every cache key."""
    from c360.app.artifacts import target_path

    path = target_path() / "semantic_manifest.json"
    return path.stat().st_mtime if path.exists() else 0.0


def _call(method: str, *args: Any, **kwargs: Any) -> Any:
    client = _client()
    try:
        return getattr(client, method)(*args, **kwargs)
    except WarehouseError:  # AppDataError included: already says what to do
        raise
    except Exception as exc:  # noqa: BLE001 - every client failure becomes a message, logged by the page guard
        raise _friendly(exc) from exc


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def catalog(manifest: float) -> pd.DataFrame:
    """Metrics with label, description and type, sorted by label."""
    rows = [
        {"name": m.name, "label": m.label, "description": m.description, "type": m.type}
        for m in _call("catalog")
    ]
    frame = pd.DataFrame(rows, columns=["name", "label", "description", "type"])
    return frame.sort_values("label", key=lambda s: s.str.lower()).reset_index(drop=True)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def dimensions(manifest: float, metrics: tuple[str, ...]) -> pd.DataFrame:
    """Dimensions valid for every chosen metric: name, label, kind (`categorical`/`time`), grains."""
    found = _call("dimensions", list(metrics))
    return pd.DataFrame(
        [{"name": d.name, "label": d.label, "kind": d.kind, "grains": tuple(d.grains)} for d in found],
        columns=["name", "label", "kind", "grains"],
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def dimension_values(manifest: float, wh: Warehouse, metric: str, dimension: str) -> list[str]:
    """The values a categorical dimension takes (MetricFlow's dimension-values query), at most 200."""
    return list(_call("dimension_values", [metric], dimension))[:FILTER_VALUE_LIMIT]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def fixed_grains(manifest: float, metrics: tuple[str, ...]) -> dict[str, str]:
    """Of the chosen metrics, those defined at one time grain only, with that grain."""
    return dict(_call("fixed_grains", list(metrics)))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def saved_queries(manifest: float) -> pd.DataFrame:
    """The saved queries: name, label, description."""
    rows = [{"name": q.name, "label": q.label, "description": q.description} for q in _call("saved_queries")]
    return pd.DataFrame(rows, columns=["name", "label", "description"])


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def run_saved(manifest: float, wh: Warehouse, name: str) -> tuple[pd.DataFrame, str]:
    """A saved query's result (through MetricFlow, its filters kept) and its SQL."""
    return _call("saved_query", name), _call("saved_query_sql", name)


def value_format(metric: str, metric_type: str) -> str:
    """How a metric's values read: dollars for spend and order value, percent for shares,
    rates and growth, whole numbers for counts, one decimal for averages of days.
    """
    if metric_type == "ratio" and metric != "average_order_value" or metric.endswith(("_growth", "_rate")):
        return "percent"
    if "spend" in metric or metric == "average_order_value":
        return "dollar"
    if metric.startswith("avg_"):
        return "%.1f"
    return "%d"


def format_value(value: float | None, fmt: str) -> str:
    """One value as `value_format` shows it in tables ("—" when missing)."""
    if value is None or pd.isna(value):
        return "—"
    if fmt == "dollar":
        return f"${value:,.2f}"
    if fmt == "percent":
        return f"{value:.1%}"
    return f"{value:,.1f}" if fmt == "%.1f" else f"{value:,.0f}"


def whole_periods(
    start: dt.date | None, end: dt.date | None, grain: str | None
) -> tuple[dt.date, dt.date] | None:
    """The range MetricFlow queries when From/To are given at a grain: whole periods around them
    (None without a grain or dates, or when the dates already are whole periods).
    """
    if not grain or grain == "day" or not (start or end):
        return None
    code = {"week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}[grain]
    first = pd.Period(start, code).start_time.date() if start else None
    last = pd.Period(end, code).end_time.date() if end else None
    if first == start and last == end:
        return None
    return first, last


def _query_args(state: ExplorerState) -> dict[str, Any]:
    where = (
        {state.filter_dim: list(state.filter_values)} if state.filter_dim and state.filter_values else None
    )
    end = dt.datetime.combine(state.end, dt.time.max) if state.end else None  # through the whole end day
    return {
        "group_by": list(state.group_by),
        "time_grain": state.grain,
        "where": where,
        "start": state.start,
        "end": end,
    }


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def run(manifest: float, wh: Warehouse, state: ExplorerState) -> tuple[pd.DataFrame, str]:
    """The query's result and the SQL the semantic layer generated for it."""
    args = _query_args(state)
    frame = _call("query", list(state.metrics), **args)
    sql = _call("sql", list(state.metrics), **args)
    return frame, sql


def _parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def state_from_params(params: Mapping[str, list[str]]) -> ExplorerState:
    """Read a view from URL query parameters (`metric`, `group_by`, `grain`, `filter`, `start`, `end`).

    Values are not trusted: the page keeps only names that are in the catalog / valid dimensions.
    """
    filters = [f.split(":", 1) for f in params.get("filter", []) if ":" in f]
    filter_dim = filters[0][0] if filters else None
    return ExplorerState(
        metrics=tuple(params.get("metric", [])),
        group_by=tuple(params.get("group_by", [])),
        grain=(params.get("grain") or [None])[0],
        filter_dim=filter_dim,
        filter_values=tuple(v for d, v in filters if d == filter_dim),
        start=_parse_date((params.get("start") or [None])[0]),
        end=_parse_date((params.get("end") or [None])[0]),
    )


def state_to_params(state: ExplorerState) -> dict[str, list[str]]:
    """The URL query parameters of a view (lists; empty ones left out)."""
    params: dict[str, list[str]] = {
        "metric": list(state.metrics),
        "group_by": list(state.group_by),
        "grain": [state.grain] if state.grain else [],
        "filter": [f"{state.filter_dim}:{v}" for v in state.filter_values] if state.filter_dim else [],
        "start": [state.start.isoformat()] if state.start else [],
        "end": [state.end.isoformat()] if state.end else [],
    }
    return {k: v for k, v in params.items() if v}


# ------------------------------------------------------------- the Overview's metrics
KPI_METRICS = ("total_spend", "order_count", "average_order_value", "active_customers")


def _through(day: dt.date) -> dt.datetime:
    """The end of `day`: MetricFlow's time constraint then includes the whole day."""
    return dt.datetime.combine(day, dt.time.max)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def period_kpis(manifest: float, wh: Warehouse, period: Period) -> pd.DataFrame:
    """`KPI_METRICS` for the period and its comparison period (rows `current`, `previous`).

    Both rows are always present; a period without transactions has 0 spend/orders/customers
    and no average order value (the semantic layer's definitions, so a YAML change shows here).
    """
    rows = {}
    for name, start, end in (
        ("current", period.start, period.end),
        ("previous", period.previous_start, period.previous_end),
    ):
        frame = _call("query", list(KPI_METRICS), start=start, end=_through(end))
        values = frame.iloc[0] if not frame.empty else pd.Series(dtype="float64")
        rows[name] = {m: values.get(m, float("nan")) for m in KPI_METRICS}
    out = pd.DataFrame.from_dict(rows, orient="index")
    counts = ["total_spend", "order_count", "active_customers"]
    out[counts] = out[counts].astype("float64").fillna(0.0)
    return out


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def monthly_spend_by_category(manifest: float, wh: Warehouse, start: dt.date, end: dt.date) -> pd.DataFrame:
    """`total_spend` per month (`month`, a date) and `category` for transactions from `start` to `end`."""
    frame = _call(
        "query",
        ["total_spend"],
        group_by=["transaction__category"],
        time_grain="month",
        start=start,
        end=_through(end),
    )
    return pd.DataFrame(
        {
            "month": pd.to_datetime(frame["metric_time__month"]).dt.date,
            "category": frame["transaction__category"],
            "spend": frame["total_spend"],
        }
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def customer_totals(manifest: float, wh: Warehouse) -> dict[str, int]:
    """All customers (`customer_count`) and those with a purchase (`purchasing_customers`)."""
    frame = _call("query", ["customer_count", "purchasing_customers"])
    row = frame.iloc[0] if not frame.empty else {}
    return {
        "customers": int(row.get("customer_count", 0) or 0),
        "buyers": int(row.get("purchasing_customers", 0) or 0),
    }


# ------------------------------------------------------------ the Segments page's metrics
SEGMENT = "customer__rfm_segment"


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def segment_metrics(manifest: float, wh: Warehouse) -> pd.DataFrame:
    """Per RFM segment (as of the build): customers, lifetime spend, spend per customer, recency.

    Columns `rfm_segment`, `customers`, `total_spend`, `average_spend` (total_spend / customers,
    prospects counted with 0) and `average_recency_days` (`avg_days_since_last_purchase`).
    """
    frame = _call(
        "query", ["customer_count", "total_spend", "avg_days_since_last_purchase"], group_by=[SEGMENT]
    )
    out = pd.DataFrame(
        {
            "rfm_segment": frame[SEGMENT],
            "customers": frame["customer_count"].fillna(0).astype("int64"),
            "total_spend": frame["total_spend"].fillna(0.0),
            "average_recency_days": frame["avg_days_since_last_purchase"],
        }
    )
    out.insert(3, "average_spend", out["total_spend"] / out["customers"].where(out["customers"] > 0))
    return out


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def segment_category_spend(manifest: float, wh: Warehouse) -> pd.DataFrame:
    """`total_spend` per RFM segment (as of the build) and category: `rfm_segment`, `category`, `spend`."""
    frame = _call("query", ["total_spend"], group_by=[SEGMENT, "transaction__category"])
    return pd.DataFrame(
        {
            "rfm_segment": frame[SEGMENT],
            "category": frame["transaction__category"],
            "spend": frame["total_spend"],
        }
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def segment_trend(manifest: float, wh: Warehouse) -> pd.DataFrame:
    """Customers per RFM segment at each month end, in the segment they had then
    (`customers_at_period_end` by `customer_state__rfm_segment`): `month` (a date), `rfm_segment`,
    `customers`. The as-of month is taken at the as-of date.
    """
    frame = _call(
        "query", ["customers_at_period_end"], group_by=["customer_state__rfm_segment"], time_grain="month"
    )
    return pd.DataFrame(
        {
            "month": pd.to_datetime(frame["metric_time__month"]).dt.date,
            "rfm_segment": frame["customer_state__rfm_segment"],
            "customers": frame["customers_at_period_end"].fillna(0).astype("int64"),
        }
    )
