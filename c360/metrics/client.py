"""Python client of the MetricFlow semantic layer (no subprocess).

    from c360.metrics import client as metrics
    client = metrics.MetricsClient.from_env()
    client.catalog()                                   # metrics with labels and descriptions
    client.dimensions(["total_spend", "new_customers"])  # group-bys valid for all of them
    client.query(["total_spend"], group_by=["transaction__category"], time_grain="month",
                 where={"customer__state": ["NSW", "VIC"]}, start=date(2024, 1, 1),
                 filters=[MetricFilter("total_spend", "customer", ">=", 1000),
                          TimeFilter("customer__first_purchase_date", start=date(2025, 1, 1))])
    client.sql(...)                                    # the SQL that query() runs

MetricFlow only renders the SQL (cached per query shape, c360.metrics.planning); it is executed
on a short-lived connection by `c360.warehouse`. Every query is validated first
(c360.metrics.shape): names must be in the catalog, filter values pass a strict allow-list
pattern, metric filters take a number and a comparison from a fixed list, time filters dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from metricflow_semantics.errors.error_classes import MetricFlowException

from c360 import config
from c360.metrics import planning
from c360.metrics.manifest import EngineHandle, current_engine, manifest_path
from c360.metrics.shape import (
    TIME_GRAINS,
    DimensionInfo,
    Filter,
    MetricFilter,
    MetricInfo,
    MetricsQueryError,
    QueryShape,
    SavedQueryInfo,
    TimeFilter,
    as_datetime,
    check_filter,
    check_fixed_grains,
    check_group_by,
    check_metric_filter,
    check_time_filter,
    entities_of,
)
from c360.warehouse import Warehouse, query

__all__ = [
    "DimensionInfo",
    "MetricFilter",
    "MetricInfo",
    "MetricsClient",
    "MetricsQueryError",
    "QueryShape",
    "SavedQueryInfo",
    "TIME_GRAINS",
    "TimeFilter",
]


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
        return list(planning.catalog(self._handle()))

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
            return list(planning.dimensions(self._handle(), names))
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
        filters: Sequence[Filter] = (),
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
        check_fixed_grains(fixed, [*group, *map(str, group_by)])
        for item in group_by:
            group.append(check_group_by(str(item), dims))
        where_items: list[tuple[str, tuple[str, ...]]] = []
        for name, raw_values in sorted((where or {}).items()):
            where_items.append((name, check_filter(name, raw_values, dims)))
        selectable = set(names) | set(group)
        for item in order:
            if str(item).lstrip("-") not in selectable:
                raise MetricsQueryError(f"order item {item!r} is not a queried metric or group-by")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise MetricsQueryError(f"limit must be a positive integer, got {limit!r}")
        checked_filters = self._check_filters(filters, dims)
        start_at, end_at = as_datetime(start, "start"), as_datetime(end, "end")
        if start_at is not None and end_at is not None and start_at > end_at:
            raise MetricsQueryError(f"start {start_at.date()} is after end {end_at.date()}")
        return QueryShape(
            metrics=names,
            group_by=tuple(dict.fromkeys(group)),
            where=tuple(where_items),
            start=start_at,
            end=end_at,
            order=tuple(str(o) for o in order),
            limit=limit,
            filters=checked_filters,
        )

    def _check_filters(
        self, filters: Sequence[Filter], dims: Mapping[str, DimensionInfo]
    ) -> tuple[Filter, ...]:
        """Metric and time filters checked against the catalog, in a stable order (cache key)."""
        if isinstance(filters, MetricFilter | TimeFilter):
            filters = [filters]
        known = {m.name for m in self.catalog()}
        checked: list[Filter] = []
        for item in filters:
            if isinstance(item, TimeFilter):
                checked.append(check_time_filter(item, dims))
            else:
                checked.append(check_metric_filter(item, known, entities_of(dims)))
        return tuple(dict.fromkeys(checked))

    def fixed_grains(self, metrics: Sequence[str]) -> dict[str, str]:
        """Of `metrics`, those defined at one metric_time grain only, with that grain
        (spend_mom_growth: month); queries add metric_time at that grain when none is given.
        """
        fixed = planning.fixed_grains(self._handle())
        return {m: fixed[m] for m in metrics if m in fixed}

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
        filters: Sequence[Filter] = (),
    ) -> str:
        """The SQL `query()` runs for the same arguments (rendered once per query shape)."""
        shape = self.shape(metrics, group_by, time_grain, where, start, end, order, limit, filters)
        return planning.compiled_sql(self._handle(), shape)

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
        filters: Sequence[Filter] = (),
    ) -> pd.DataFrame:
        """Metric values grouped by `group_by` (+ metric_time at `time_grain`), one row per group.

        `where` keeps rows whose categorical dimension takes one of the values; `filters` adds
        `MetricFilter`s (entities whose metric compares with a number) and `TimeFilter`s (a time
        dimension within dates). Metric columns are float64, time columns naive UTC datetime64;
        rows are sorted by the group-by columns unless `order` is given ("-name" sorts descending).
        """
        shape = self.shape(metrics, group_by, time_grain, where, start, end, order, limit, filters)
        frame = query(self.warehouse, planning.compiled_sql(self._handle(), shape), times=True)
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
            sql = planning.dimension_values_sql(self._handle(), names, (dimension,))
        except MetricsQueryError:
            if "metric_time" not in dims:
                raise
            # A windowed cumulative metric has values only per time period: list the values
            # over the coarsest grain it offers.
            coarsest = f"metric_time__{dims['metric_time'].grains[-1]}"
            sql = planning.dimension_values_sql(self._handle(), names, (dimension, coarsest))
        frame = query(self.warehouse, sql)
        return sorted(str(v) for v in frame[dimension].dropna().unique())

    def saved_queries(self) -> list[SavedQueryInfo]:
        """The saved queries of the manifest (as MetricFlow lists them), sorted by name."""
        return list(planning.saved_queries(self._handle()))

    def saved_query_names(self) -> list[str]:
        """Names of the saved queries in the manifest."""
        return [saved.name for saved in self.saved_queries()]

    def saved_query_sql(self, name: str) -> str:
        """The SQL `saved_query(name)` runs (rendered once per manifest version)."""
        if name not in self.saved_query_names():
            raise MetricsQueryError(f"unknown saved query {name!r}")
        return planning.compiled_saved_query_sql(self._handle(), name)

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
