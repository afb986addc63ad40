"""What the metrics client asks MetricFlow, cached per engine handle (one per manifest version and
dialect): the catalog, the dimensions of a set of metrics, the SQL of a validated query shape, of
a saved query and of a dimension-values query. MetricFlow's planning is not thread-safe, so every
call holds the handle's lock.
"""

from __future__ import annotations

from functools import lru_cache

from metricflow.engine.metricflow_engine import MetricFlowQueryRequest, MetricFlowQueryType
from metricflow_semantics.errors.error_classes import MetricFlowException

from c360.metrics.manifest import EngineHandle
from c360.metrics.shape import (
    TIME_GRAINS,
    DimensionInfo,
    MetricInfo,
    MetricsQueryError,
    QueryShape,
    SavedQueryInfo,
    first_line,
    grains_from,
)


@lru_cache(maxsize=32)
def catalog(handle: EngineHandle) -> tuple[MetricInfo, ...]:
    """Every metric of the manifest with label, description and type."""
    with handle.lock:
        metrics = handle.engine.list_metrics(include_dimensions=False)
    return tuple(
        MetricInfo(m.name, m.label or m.name, (m.description or "").strip(), m.type.value) for m in metrics
    )


@lru_cache(maxsize=32)
def fixed_grains(handle: EngineHandle) -> dict[str, str]:
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
def dimensions(handle: EngineHandle, metric_names: tuple[str, ...]) -> tuple[DimensionInfo, ...]:
    """The group-bys valid for all of `metric_names`, metric_time with its queryable grains."""
    with handle.lock:
        found = handle.engine.simple_dimensions_for_metrics(list(metric_names))
        group_bys = handle.engine.list_group_bys(list(metric_names), include_derived_time_granularities=True)
    # metric_time's grains as MetricFlow can query them for these metrics, narrowed to the one
    # grain of a metric that is defined at one grain only (spend_mom_growth: month).
    queryable = {getattr(g, "dunder_name", "").rpartition("__")[2] for g in group_bys}
    fixed = {fixed_grains(handle)[m] for m in metric_names if m in fixed_grains(handle)}
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
            grains=grains_from(granularity) if kind == "time" else (),
        )
    return tuple(sorted(out.values(), key=lambda d: d.name))


@lru_cache(maxsize=512)
def compiled_sql(handle: EngineHandle, shape: QueryShape) -> str:
    """The SQL of a validated query shape (rendered once per shape)."""
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
        raise MetricsQueryError(f"MetricFlow cannot plan {shape.describe()}: {first_line(exc)}") from exc


@lru_cache(maxsize=32)
def saved_queries(handle: EngineHandle) -> tuple[SavedQueryInfo, ...]:
    """The saved queries of the manifest, as MetricFlow lists them."""
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
def dimension_values_sql(
    handle: EngineHandle, metric_names: tuple[str, ...], group_by: tuple[str, ...]
) -> str:
    """MetricFlow's dimension-values query: distinct values of group_by[0] over the metrics' rows."""
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
            f"MetricFlow cannot list the values of {group_by[0]}: {first_line(exc)}"
        ) from exc


@lru_cache(maxsize=64)
def compiled_saved_query_sql(handle: EngineHandle, name: str) -> str:
    """The SQL of a saved query through `saved_query_name` (its where, order and limit kept)."""
    request = MetricFlowQueryRequest.create(saved_query_name=name)
    try:
        with handle.lock:
            return handle.engine.explain(request).sql_statement.sql
    except MetricFlowException as exc:
        raise MetricsQueryError(f"MetricFlow cannot plan saved query {name!r}: {first_line(exc)}") from exc
