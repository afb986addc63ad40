"""Python client of the MetricFlow semantic layer (no subprocess).

    from c360.metrics import client as metrics
    client = metrics.MetricsClient.from_env()
    client.catalog()                                   # metrics with labels and descriptions
    client.dimensions(["total_spend", "new_customers"])  # group-bys valid for all of them
    client.query(["total_spend"], group_by=["transaction__category"], time_grain="month",
                 where={"customer__state": ["NSW", "VIC"]}, start=date(2024, 1, 1))
    client.sql(...)                                    # the SQL that query() runs

MetricFlow only renders the SQL (cached per query shape); it is executed on a short-lived
connection by `c360.warehouse`. Filter values reach the SQL only as quoted literals that
passed a strict allow-list pattern, and filter/group-by names must be in the catalog.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
from metricflow.engine.metricflow_engine import MetricFlowQueryRequest, MetricFlowQueryType
from metricflow_semantics.errors.error_classes import MetricFlowException

from c360 import config
from c360.metrics.manifest import EngineHandle, current_engine, manifest_path
from c360.warehouse import Warehouse, query

TIME_GRAINS = ("day", "week", "month", "quarter", "year")
VALUE_PATTERN = re.compile(r"^[\w &,.'+\-/()]{1,100}$")
MAX_FILTER_VALUES = 200

__all__ = [
    "DimensionInfo",
    "MetricInfo",
    "MetricsClient",
    "MetricsQueryError",
    "QueryShape",
    "SavedQueryInfo",
    "TIME_GRAINS",
]


class MetricsQueryError(ValueError):
    """A query the semantic layer cannot answer (unknown name, bad value, invalid combination)."""


@dataclass(frozen=True)
class MetricInfo:
    """One metric of the catalog."""

    name: str
    label: str
    description: str
    type: str


@dataclass(frozen=True)
class DimensionInfo:
    """A group-by / filter dimension; time dimensions list the grains they can be queried at."""

    name: str
    label: str
    description: str
    kind: str  # "categorical" or "time"
    grains: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueryShape:
    """A validated, hashable query: the cache key of the compiled SQL."""

    metrics: tuple[str, ...]
    group_by: tuple[str, ...] = ()
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    order: tuple[str, ...] = ()
    limit: int | None = None

    def describe(self) -> str:
        """The query in words for messages (never the internal repr)."""
        text = ", ".join(self.metrics)
        if self.group_by:
            text += " by " + ", ".join(self.group_by)
        if self.start or self.end:
            start = self.start.date().isoformat() if self.start else "the start"
            end = self.end.date().isoformat() if self.end else "the end"
            text += f" from {start} to {end}"
        return text

    def where_templates(self) -> list[str]:
        """MetricFlow where-filter templates with escaped, pattern-checked literals."""
        templates = []
        for name, values in self.where:
            literals = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
            templates.append(f"{{{{ Dimension('{name}') }}}} in ({literals})")
        return templates


def _grains_from(granularity: str | None) -> tuple[str, ...]:
    if granularity is None or granularity not in TIME_GRAINS:
        return TIME_GRAINS
    return TIME_GRAINS[TIME_GRAINS.index(granularity) :]


def _as_datetime(value: dt.date | dt.datetime | None, field_name: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    raise MetricsQueryError(f"{field_name} must be a date or datetime, got {type(value).__name__}")


@lru_cache(maxsize=32)
def _catalog(handle: EngineHandle) -> tuple[MetricInfo, ...]:
    with handle.lock:
        metrics = handle.engine.list_metrics(include_dimensions=False)
    return tuple(
        MetricInfo(m.name, m.label or m.name, (m.description or "").strip(), m.type.value) for m in metrics
    )


@lru_cache(maxsize=32)
def _fixed_grains(handle: EngineHandle) -> dict[str, str]:
    """Metrics defined at one grain only: a derived metric with an input offset by one period of a
    grain (`offset_window: 1 month`) compares a period with the one before only at that grain.
    """
    fixed: dict[str, str] = {}
    for metric in handle.raw_manifest.get("metrics", []):
        for item in (metric.get("type_params") or {}).get("metrics") or []:
            window = item.get("offset_window") or {}
            if window.get("granularity") in TIME_GRAINS:
                fixed[metric["name"]] = window["granularity"]
    return fixed


@lru_cache(maxsize=256)
def _dimensions(handle: EngineHandle, metric_names: tuple[str, ...]) -> tuple[DimensionInfo, ...]:
    with handle.lock:
        found = handle.engine.simple_dimensions_for_metrics(list(metric_names))
        group_bys = handle.engine.list_group_bys(list(metric_names), include_derived_time_granularities=True)
    # metric_time's grains as MetricFlow can query them for these metrics, narrowed to the one
    # grain of a metric that is defined at one grain only (spend_mom_growth: month).
    queryable = {getattr(g, "dunder_name", "").rpartition("__")[2] for g in group_bys}
    fixed = {_fixed_grains(handle)[m] for m in metric_names if m in _fixed_grains(handle)}
    metric_time_grains = tuple(g for g in TIME_GRAINS if g in queryable and (not fixed or g in fixed))
    out: dict[str, DimensionInfo] = {}
    for dim in found:
        if dim.dunder_name.startswith("metric_time"):
            out["metric_time"] = DimensionInfo(
                "metric_time", "Metric time", "Event time of the metrics.", "time", metric_time_grains
            )
            continue
        kind = dim.type.value
        granularity = dim.type_params.time_granularity.value if kind == "time" and dim.type_params else None
        out[dim.dunder_name] = DimensionInfo(
            name=dim.dunder_name,
            label=dim.label or dim.name,
            description=(dim.description or "").strip(),
            kind=kind,
            grains=_grains_from(granularity) if kind == "time" else (),
        )
    return tuple(sorted(out.values(), key=lambda d: d.name))


@lru_cache(maxsize=512)
def _compiled_sql(handle: EngineHandle, shape: QueryShape) -> str:
    request = MetricFlowQueryRequest.create(
        metric_names=list(shape.metrics),
        group_by_names=list(shape.group_by),
        where_constraints=shape.where_templates() or None,
        time_constraint_start=shape.start,
        time_constraint_end=shape.end,
        order_by_names=list(shape.order) or None,
        limit=shape.limit,
    )
    try:
        with handle.lock:
            return handle.engine.explain(request).sql_statement.sql
    except MetricFlowException as exc:
        raise MetricsQueryError(f"MetricFlow cannot plan {shape.describe()}: {_first_line(exc)}") from exc


@dataclass(frozen=True)
class MetricsClient:
    """Catalog and queries over the semantic manifest, executed on one warehouse."""

    warehouse: Warehouse
    manifest: Path

    @classmethod
    def from_env(cls) -> MetricsClient:
        """Client for `DBT_TARGET`, `C360_DUCKDB_PATH`/`C360_PG_*` and `DBT_TARGET_PATH`."""
        engine = config.target()
        if engine not in ("duckdb", "postgres"):
            raise MetricsQueryError(
                f"the metrics client supports duckdb and postgres, not DBT_TARGET={engine}"
            )
        return cls(Warehouse.from_env(), manifest_path())

    def _handle(self) -> EngineHandle:
        return current_engine(self.manifest, self.warehouse.engine)

    def catalog(self) -> list[MetricInfo]:
        """Every metric with its label, description and type, sorted by name."""
        return list(_catalog(self._handle()))

    def metric(self, name: str) -> MetricInfo:
        """One metric of the catalog (MetricsQueryError if unknown)."""
        for info in self.catalog():
            if info.name == name:
                return info
        raise MetricsQueryError(f"unknown metric {name!r}")

    def dimensions(self, metrics: Sequence[str]) -> list[DimensionInfo]:
        """Dimensions valid for every metric in `metrics` (their common group-bys)."""
        names = self._check_metrics(metrics)
        try:
            return list(_dimensions(self._handle(), names))
        except MetricFlowException as exc:
            raise MetricsQueryError(str(exc)) from exc

    def _check_metrics(self, metrics: Sequence[str]) -> tuple[str, ...]:
        if isinstance(metrics, str) or not metrics:
            raise MetricsQueryError("metrics must be a non-empty list of metric names")
        known = {m.name for m in self.catalog()}
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise MetricsQueryError(f"unknown metric(s): {', '.join(map(str, unknown))}")
        return tuple(dict.fromkeys(metrics))

    def shape(
        self,
        metrics: Sequence[str],
        group_by: Sequence[str] = (),
        time_grain: str | None = None,
        where: Mapping[str, str | Sequence[str]] | None = None,
        start: dt.date | dt.datetime | None = None,
        end: dt.date | dt.datetime | None = None,
        order: Sequence[str] = (),
        limit: int | None = None,
    ) -> QueryShape:
        """Validate a query against the catalog allow-lists and return its hashable shape."""
        names = self._check_metrics(metrics)
        dims = {d.name: d for d in self.dimensions(names)}
        fixed = self.fixed_grains(names)
        if time_grain is None and fixed and not any(str(g).startswith("metric_time__") for g in group_by):
            time_grain = next(iter(fixed.values()))  # a metric that needs metric_time gets it
        group: list[str] = []
        if time_grain is not None:
            if time_grain not in TIME_GRAINS:
                choices = ", ".join(TIME_GRAINS)
                raise MetricsQueryError(f"time_grain must be one of {choices}, got {time_grain!r}")
            group.append(f"metric_time__{time_grain}")
        self._check_fixed_grains(fixed, [*group, *map(str, group_by)])
        for item in group_by:
            group.append(self._check_group_by(str(item), dims))
        where_items: list[tuple[str, tuple[str, ...]]] = []
        for name, raw_values in sorted((where or {}).items()):
            where_items.append((name, self._check_filter(name, raw_values, dims)))
        selectable = set(names) | set(group)
        for item in order:
            if str(item).lstrip("-") not in selectable:
                raise MetricsQueryError(f"order item {item!r} is not a queried metric or group-by")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise MetricsQueryError(f"limit must be a positive integer, got {limit!r}")
        return QueryShape(
            metrics=names,
            group_by=tuple(dict.fromkeys(group)),
            where=tuple(where_items),
            start=_as_datetime(start, "start"),
            end=_as_datetime(end, "end"),
            order=tuple(str(o) for o in order),
            limit=limit,
        )

    def fixed_grains(self, metrics: Sequence[str]) -> dict[str, str]:
        """Of `metrics`, those defined at one metric_time grain only, with that grain
        (spend_mom_growth: month); queries add metric_time at that grain when none is given.
        """
        fixed = _fixed_grains(self._handle())
        return {m: fixed[m] for m in metrics if m in fixed}

    @staticmethod
    def _check_fixed_grains(fixed: Mapping[str, str], group: Sequence[str]) -> None:
        if len(set(fixed.values())) > 1:
            raise MetricsQueryError(
                "these metrics are defined at different grains: "
                + ", ".join(f"{m} ({g})" for m, g in fixed.items())
            )
        for item in group:
            base, _, grain = item.rpartition("__")
            if base != "metric_time":
                continue
            for metric, only in fixed.items():
                if grain != only:
                    raise MetricsQueryError(
                        f"{metric} compares a {only} with the {only} before, so it is defined at "
                        f"{only} grain only (metric_time__{only}), not by {grain}"
                    )

    @staticmethod
    def _check_group_by(item: str, dims: Mapping[str, DimensionInfo]) -> str:
        if item in dims and dims[item].kind == "categorical":
            return item
        base, _, grain = item.rpartition("__")
        if base in dims and dims[base].kind == "time" and grain in dims[base].grains:
            return item
        raise MetricsQueryError(
            f"group-by {item!r} is not valid for these metrics; choose from "
            + ", ".join(d.name if d.kind == "categorical" else f"{d.name}__<grain>" for d in dims.values())
        )

    @staticmethod
    def _check_filter(
        name: str, raw_values: str | Sequence[str], dims: Mapping[str, DimensionInfo]
    ) -> tuple[str, ...]:
        if name not in dims or dims[name].kind != "categorical":
            raise MetricsQueryError(f"filter on {name!r}: not a categorical dimension of these metrics")
        values = (raw_values,) if isinstance(raw_values, str) else tuple(raw_values)
        if not values or len(values) > MAX_FILTER_VALUES:
            raise MetricsQueryError(f"filter on {name!r}: give 1 to {MAX_FILTER_VALUES} values")
        for value in values:
            if not isinstance(value, str) or not VALUE_PATTERN.match(value):
                raise MetricsQueryError(f"filter on {name!r}: value {value!r} has characters not allowed")
        return tuple(sorted(set(values)))

    def sql(
        self,
        metrics: Sequence[str],
        group_by: Sequence[str] = (),
        time_grain: str | None = None,
        where: Mapping[str, str | Sequence[str]] | None = None,
        start: dt.date | dt.datetime | None = None,
        end: dt.date | dt.datetime | None = None,
        order: Sequence[str] = (),
        limit: int | None = None,
    ) -> str:
        """The SQL `query()` runs for the same arguments (rendered once per query shape)."""
        shape = self.shape(metrics, group_by, time_grain, where, start, end, order, limit)
        return _compiled_sql(self._handle(), shape)

    def query(
        self,
        metrics: Sequence[str],
        group_by: Sequence[str] = (),
        time_grain: str | None = None,
        where: Mapping[str, str | Sequence[str]] | None = None,
        start: dt.date | dt.datetime | None = None,
        end: dt.date | dt.datetime | None = None,
        order: Sequence[str] = (),
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Metric values grouped by `group_by` (+ metric_time at `time_grain`), one row per group.

        Metric columns are float64, time columns naive UTC datetime64; rows are sorted by the
        group-by columns unless `order` is given ("-name" sorts descending).
        """
        shape = self.shape(metrics, group_by, time_grain, where, start, end, order, limit)
        frame = query(self.warehouse, _compiled_sql(self._handle(), shape), times=True)
        return _tidy(frame, shape.metrics, () if shape.order else shape.group_by)

    def dimension_values(self, metrics: Sequence[str], dimension: str) -> list[str]:
        """The values a categorical dimension of `metrics` takes, sorted (MetricFlow's
        dimension-values query: distinct values over the metrics' source rows).
        """
        names = self._check_metrics(metrics)
        dims = {d.name: d for d in self.dimensions(names)}
        if dimension not in dims or dims[dimension].kind != "categorical":
            raise MetricsQueryError(f"{dimension!r} is not a categorical dimension of {', '.join(names)}")
        try:
            sql = _dimension_values_sql(self._handle(), names, (dimension,))
        except MetricsQueryError:
            if "metric_time" not in dims:
                raise
            # A windowed cumulative metric has values only per time period: list the values
            # over the coarsest grain it offers.
            coarsest = f"metric_time__{dims['metric_time'].grains[-1]}"
            sql = _dimension_values_sql(self._handle(), names, (dimension, coarsest))
        frame = query(self.warehouse, sql)
        return sorted(str(v) for v in frame[dimension].dropna().unique())

    def saved_queries(self) -> list[SavedQueryInfo]:
        """The saved queries of the manifest (as MetricFlow lists them), sorted by name."""
        return list(_saved_queries(self._handle()))

    def saved_query_names(self) -> list[str]:
        """Names of the saved queries in the manifest."""
        return [saved.name for saved in self.saved_queries()]

    def saved_query_sql(self, name: str) -> str:
        """The SQL `saved_query(name)` runs (rendered once per manifest version)."""
        if name not in self.saved_query_names():
            raise MetricsQueryError(f"unknown saved query {name!r}")
        return _compiled_saved_query_sql(self._handle(), name)

    def saved_query(self, name: str) -> pd.DataFrame:
        """Run a saved query through MetricFlow (`saved_query_name`): its metrics, group-bys,
        where filters, order and limit exactly as defined in semantic_models/saved_queries.yml.

        Metric columns are float64; rows keep the saved query's order, or are sorted by the
        group-by columns when it has none.
        """
        sql = self.saved_query_sql(name)
        saved = next(s for s in self.saved_queries() if s.name == name)
        frame = query(self.warehouse, sql, times=True)
        group_columns = () if saved.ordered else tuple(c for c in frame.columns if c not in saved.metrics)
        return _tidy(frame, saved.metrics, group_columns)


def _tidy(frame: pd.DataFrame, metrics: Sequence[str], sort_by: Sequence[str]) -> pd.DataFrame:
    """Metric columns as float64, rows sorted by `sort_by` (none: as the SQL returned them)."""
    for name in metrics:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    if sort_by:
        frame = frame.sort_values(list(sort_by), kind="stable", na_position="last")
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class SavedQueryInfo:
    """One saved query: its name, label, description, metrics and whether it sets an order."""

    name: str
    label: str
    description: str
    metrics: tuple[str, ...]
    ordered: bool


@lru_cache(maxsize=32)
def _saved_queries(handle: EngineHandle) -> tuple[SavedQueryInfo, ...]:
    with handle.lock:
        found = handle.engine.list_saved_queries()
    return tuple(
        SavedQueryInfo(
            name=saved.name,
            label=saved.label or saved.name,
            description=(saved.description or "").strip(),
            metrics=tuple(saved.query_params.metrics),
            ordered=bool(saved.query_params.order_by),
        )
        for saved in found
    )


@lru_cache(maxsize=256)
def _dimension_values_sql(
    handle: EngineHandle, metric_names: tuple[str, ...], group_by: tuple[str, ...]
) -> str:
    request = MetricFlowQueryRequest.create(
        metric_names=list(metric_names),
        group_by_names=list(group_by),
        query_type=MetricFlowQueryType.DIMENSION_VALUES,
    )
    try:
        with handle.lock:
            return handle.engine.explain(request).sql_statement.sql
    except MetricFlowException as exc:
        raise MetricsQueryError(
            f"MetricFlow cannot list the values of {group_by[0]}: {_first_line(exc)}"
        ) from exc


@lru_cache(maxsize=64)
def _compiled_saved_query_sql(handle: EngineHandle, name: str) -> str:
    request = MetricFlowQueryRequest.create(saved_query_name=name)
    try:
        with handle.lock:
            return handle.engine.explain(request).sql_statement.sql
    except MetricFlowException as exc:
        raise MetricsQueryError(f"MetricFlow cannot plan saved query {name!r}: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    """The first non-empty line of an exception's text (at most 300 characters)."""
    reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return reason[:300]
