"""The value types of the metrics client and the validation of a query before any SQL is built.

Every name in a query (metric, group-by, filter dimension, entity) must come from the catalog of
the semantic manifest; filter values reach MetricFlow's where templates only as quoted literals
that passed `VALUE_PATTERN`, numbers as Python float reprs and dates as ISO dates, so no text a
user typed is ever pasted into SQL.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TIME_GRAINS = ("day", "week", "month", "quarter", "year")
VALUE_PATTERN = re.compile(r"^[\w &,.'+\-/()]{1,100}$")
MAX_FILTER_VALUES = 200
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")


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
class SavedQueryInfo:
    """One saved query: its name, label, description, metrics and whether it sets an order."""

    name: str
    label: str
    description: str
    metrics: tuple[str, ...]
    ordered: bool


@dataclass(frozen=True)
class MetricFilter:
    """Keep the rows of entities whose `metric`, computed per `entity`, compares with `value`:
    `MetricFilter("total_spend", "customer", ">=", 1000)` = customers with lifetime spend >= 1000
    (MetricFlow's `{{ Metric('total_spend', group_by=['customer']) }} >= 1000.0`).
    """

    metric: str
    entity: str
    op: str
    value: float

    def template(self) -> str:
        """The where template (names and operator checked by `check_metric_filter`)."""
        return (
            f"{{{{ Metric('{self.metric}', group_by=['{self.entity}']) }}}} {self.op} {float(self.value)!r}"
        )


@dataclass(frozen=True)
class TimeFilter:
    """Keep rows whose time dimension `dimension` at `grain` lies from `start` to `end`
    (inclusive, either may be None): e.g. customers whose first purchase was in 2025 with
    `TimeFilter("customer__first_purchase_date", dt.date(2025, 1, 1), dt.date(2025, 12, 31))`.
    """

    dimension: str
    start: dt.date | None = None
    end: dt.date | None = None
    grain: str = "day"

    def templates(self) -> list[str]:
        """The where templates (dates rendered as ISO literals)."""
        column = f"{{{{ TimeDimension('{self.dimension}', '{self.grain}') }}}}"
        out = []
        if self.start is not None:
            out.append(f"{column} >= '{self.start.isoformat()}'")
        if self.end is not None:
            out.append(f"{column} <= '{self.end.isoformat()}'")
        return out


Filter = MetricFilter | TimeFilter


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
    filters: tuple[Filter, ...] = ()

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
        for item in self.filters:
            templates += [item.template()] if isinstance(item, MetricFilter) else item.templates()
        return templates


def grains_from(granularity: str | None) -> tuple[str, ...]:
    """The grains a time dimension of `granularity` can be queried at (itself and coarser)."""
    if granularity is None or granularity not in TIME_GRAINS:
        return TIME_GRAINS
    return TIME_GRAINS[TIME_GRAINS.index(granularity) :]


def as_datetime(value: dt.date | dt.datetime | None, field_name: str) -> dt.datetime | None:
    """A date or datetime as a naive UTC datetime (MetricsQueryError for anything else)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    raise MetricsQueryError(f"{field_name} must be a date or datetime, got {type(value).__name__}")


def check_group_by(item: str, dims: Mapping[str, DimensionInfo]) -> str:
    """`item` when it is a categorical dimension or a time dimension at one of its grains."""
    if item in dims and dims[item].kind == "categorical":
        return item
    base, _, grain = item.rpartition("__")
    if base in dims and dims[base].kind == "time" and grain in dims[base].grains:
        return item
    raise MetricsQueryError(
        f"group-by {item!r} is not valid for these metrics; choose from "
        + ", ".join(d.name if d.kind == "categorical" else f"{d.name}__<grain>" for d in dims.values())
    )


def check_filter(
    name: str, raw_values: str | Sequence[str], dims: Mapping[str, DimensionInfo]
) -> tuple[str, ...]:
    """The sorted distinct values of a categorical filter, each matching `VALUE_PATTERN`."""
    if name not in dims or dims[name].kind != "categorical":
        raise MetricsQueryError(f"filter on {name!r}: not a categorical dimension of these metrics")
    values = (raw_values,) if isinstance(raw_values, str) else tuple(raw_values)
    if not values or len(values) > MAX_FILTER_VALUES:
        raise MetricsQueryError(f"filter on {name!r}: give 1 to {MAX_FILTER_VALUES} values")
    for value in values:
        if not isinstance(value, str) or not VALUE_PATTERN.match(value):
            raise MetricsQueryError(f"filter on {name!r}: value {value!r} has characters not allowed")
    return tuple(sorted(set(values)))


def entities_of(dims: Mapping[str, DimensionInfo]) -> set[str]:
    """The entities the dimensions hang off (`customer` of `customer__state`)."""
    return {name.split("__", 1)[0] for name in dims if "__" in name}


def check_metric_filter(item: object, known_metrics: set[str], entities: set[str]) -> MetricFilter:
    """A `MetricFilter` whose metric, entity, operator and value are all allowed."""
    if not isinstance(item, MetricFilter):
        raise MetricsQueryError(f"filters take MetricFilter or TimeFilter items, got {type(item).__name__}")
    if item.metric not in known_metrics:
        raise MetricsQueryError(f"metric filter: unknown metric {item.metric!r}")
    if item.entity not in entities:
        choices = ", ".join(sorted(entities))
        raise MetricsQueryError(
            f"metric filter on {item.metric}: entity {item.entity!r} is not one of {choices}"
        )
    if item.op not in COMPARISONS:
        raise MetricsQueryError(
            f"metric filter on {item.metric}: operator must be one of {' '.join(COMPARISONS)}"
        )
    value = item.value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MetricsQueryError(
            f"metric filter on {item.metric}: value must be a finite number, got {value!r}"
        )
    return MetricFilter(item.metric, item.entity, item.op, float(value))


def check_time_filter(item: TimeFilter, dims: Mapping[str, DimensionInfo]) -> TimeFilter:
    """A `TimeFilter` on a time dimension of these metrics, at one of its grains, with dates."""
    if item.dimension not in dims or dims[item.dimension].kind != "time":
        raise MetricsQueryError(f"time filter on {item.dimension!r}: not a time dimension of these metrics")
    if item.grain not in dims[item.dimension].grains:
        grains = ", ".join(dims[item.dimension].grains)
        raise MetricsQueryError(f"time filter on {item.dimension}: grain must be one of {grains}")
    for bound in (item.start, item.end):
        if bound is not None and (not isinstance(bound, dt.date) or isinstance(bound, dt.datetime)):
            raise MetricsQueryError(
                f"time filter on {item.dimension}: start/end must be dates, got {bound!r}"
            )
    if item.start is None and item.end is None:
        raise MetricsQueryError(f"time filter on {item.dimension}: give a start, an end or both")
    if item.start is not None and item.end is not None and item.start > item.end:
        raise MetricsQueryError(
            f"time filter on {item.dimension}: start {item.start} is after end {item.end}"
        )
    return item


def check_fixed_grains(fixed: Mapping[str, str], group: Sequence[str]) -> None:
    """Refuse a metric defined at one grain (spend_mom_growth: month) at any other grain."""
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


def first_line(exc: Exception) -> str:
    """The first non-empty line of an exception's text (at most 300 characters)."""
    reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return reason[:300]
