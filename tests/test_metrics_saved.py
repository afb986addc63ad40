"""Filters, time ranges, saved queries and dimension values through MetricFlow, on DuckDB and
Postgres, against an independent pandas computation of the generated warehouse's marts.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from c360.metrics import planning
from c360.metrics.client import MetricFilter, MetricsClient, MetricsQueryError, TimeFilter
from tests.metrics_expected import (
    MartFrames,
    assert_frames_match,
    first_purchase,
    transaction_metrics,
    truncate,
    with_customer,
)
from tests.metrics_warehouses import ENGINES, built_for, middle_window


@pytest.fixture(scope="module", params=ENGINES)
def built(request: pytest.FixtureRequest) -> tuple[MetricsClient, MartFrames]:
    """(metrics client, mart frames) for each engine's generated warehouse."""
    return built_for(request)


def test_filters_and_time_range(built: tuple[MetricsClient, MartFrames]) -> None:
    client, frames = built
    start, end = middle_window(frames, days=90)
    where = {"customer__gender": ["F"], "transaction__category": ["Books", "Clothing, Shoes & Accessories"]}
    got = client.query(
        ["total_spend", "active_customers"],
        group_by=["customer__age_band"],
        time_grain="month",
        where=where,
        start=start,
        end=end,
    )
    tx = with_customer(frames, ["gender", "age_band"])
    month = truncate(tx["transaction_at"], "month")
    # MetricFlow widens start/end to whole periods of the queried grain (here: months).
    first_month, last_month = (truncate(pd.Series([pd.Timestamp(d)]), "month")[0] for d in (start, end))
    tx = tx[
        (tx["customer__gender"] == "F")
        & tx["category"].isin(where["transaction__category"])
        & (month >= first_month)
        & (month <= last_month)
    ].assign(metric_time__month=month)
    expected = transaction_metrics(tx, ["metric_time__month", "customer__age_band"])
    expected = expected[["metric_time__month", "customer__age_band", "total_spend", "active_customers"]]
    assert len(expected) >= 6
    assert_frames_match(got, expected, ["metric_time__month", "customer__age_band"])


def test_saved_queries(built: tuple[MetricsClient, MartFrames]) -> None:
    client, frames = built
    assert client.saved_query_names() == [
        "champions_monthly_spend",
        "cohort_retention",
        "monthly_spend_by_category",
        "segment_summary",
    ]

    monthly = client.saved_query("monthly_spend_by_category")
    tx = frames.transactions.assign(
        metric_time__month=truncate(frames.transactions["transaction_at"], "month")
    )
    expected = transaction_metrics(
        tx.rename(columns={"category": "transaction__category"}),
        ["metric_time__month", "transaction__category"],
    )
    keys = ["metric_time__month", "transaction__category"]
    assert_frames_match(monthly, expected[[*keys, "total_spend", "order_count", "active_customers"]], keys)

    cohorts = client.saved_query("cohort_retention")
    cohort_of = truncate(first_purchase(frames)["first_at"], "month").rename(
        "customer__acquisition_month__month"
    )
    tx = tx.merge(cohort_of, left_on="customer_id", right_index=True)
    keys = ["metric_time__month", "customer__acquisition_month__month"]
    expected = (
        tx.groupby(keys)["customer_id"].nunique().astype("float64").rename("active_customers").reset_index()
    )
    assert_frames_match(cohorts, expected, keys)
    # Retention: a cohort is fully active in its own month.
    own = cohorts[cohorts[keys[0]] == cohorts[keys[1]]]
    sizes = cohort_of.value_counts()
    assert (own.set_index(keys[1])["active_customers"] == sizes.reindex(own[keys[1]]).to_numpy()).all()

    segments = client.saved_query("segment_summary")
    assert set(segments["customer__rfm_segment"]) == set(frames.customers["rfm_segment"])
    assert segments["customer_count"].sum() == len(frames.customers)


def test_saved_query_keeps_its_where_filter_and_order(built: tuple[MetricsClient, MartFrames]) -> None:
    """champions_monthly_spend runs through MetricFlow with its where filter (Champions only):
    equal to pandas on the Champions' transactions, less than everyone's spend in every month.
    """
    client, frames = built
    got = client.saved_query("champions_monthly_spend")
    tx = with_customer(frames, ["rfm_segment"])
    tx = tx.assign(metric_time__month=truncate(tx["transaction_at"], "month"))
    champions = tx[tx["customer__rfm_segment"] == "Champions"]
    keys = ["metric_time__month"]
    expected = transaction_metrics(champions, keys)[[*keys, "total_spend", "order_count", "active_customers"]]
    assert len(expected) >= 6
    assert_frames_match(got, expected, keys)
    assert got["metric_time__month"].is_monotonic_increasing
    everyone = transaction_metrics(tx, keys).set_index(keys)["total_spend"]
    assert (got.set_index(keys)["total_spend"] < everyone.reindex(got["metric_time__month"])).all()
    assert "'Champions'" in client.saved_query_sql("champions_monthly_spend")
    with pytest.raises(MetricsQueryError, match="unknown saved query"):
        client.saved_query("no_such_query")


def test_dimension_values_come_from_metricflow(built: tuple[MetricsClient, MartFrames]) -> None:
    """Distinct values over the metric's source rows: segments of buyers (no Prospect for spend),
    every category for the windowed cumulative metric."""
    client, frames = built
    buyers = frames.customers[frames.customers["customer_id"].isin(frames.transactions["customer_id"])]
    assert client.dimension_values(["total_spend"], "customer__rfm_segment") == sorted(
        buyers["rfm_segment"].unique()
    )
    assert "Prospect" in set(frames.customers["rfm_segment"])
    assert client.dimension_values(["trailing_30d_spend"], "product_category__category_name") == sorted(
        frames.transactions["category"].unique()
    )
    with pytest.raises(MetricsQueryError, match="not a categorical dimension"):
        client.dimension_values(["total_spend"], "customer__email")


def test_metric_filter_keeps_entities_by_their_metric(built: tuple[MetricsClient, MartFrames]) -> None:
    """MetricFilter: spend by quarter of the customers whose lifetime spend is at least 1000."""
    client, frames = built
    got = client.query(
        ["total_spend", "active_customers"],
        time_grain="quarter",
        filters=[MetricFilter("total_spend", "customer", ">=", 1000)],
    )
    tx = frames.transactions
    lifetime = tx.groupby("customer_id")["amount"].sum()
    big = tx[tx["customer_id"].isin(lifetime[lifetime >= 1000].index)]
    assert 0 < big["customer_id"].nunique() < tx["customer_id"].nunique()
    big = big.assign(metric_time__quarter=truncate(big["transaction_at"], "quarter"))
    expected = transaction_metrics(big, ["metric_time__quarter"])
    assert_frames_match(
        got, expected[["metric_time__quarter", "total_spend", "active_customers"]], ["metric_time__quarter"]
    )


def test_time_filter_on_a_customer_time_dimension(built: tuple[MetricsClient, MartFrames]) -> None:
    """TimeFilter: spend by month of the customers whose first purchase falls in a date window."""
    client, frames = built
    start, end = middle_window(frames, days=60)
    got = client.query(
        ["total_spend"],
        time_grain="month",
        filters=[TimeFilter("customer__first_purchase_date", start=start, end=end)],
    )
    first_day = first_purchase(frames)["first_at"].dt.normalize()
    chosen = first_day[(first_day >= pd.Timestamp(start)) & (first_day <= pd.Timestamp(end))].index
    tx = frames.transactions[frames.transactions["customer_id"].isin(chosen)]
    tx = tx.assign(metric_time__month=truncate(tx["transaction_at"], "month"))
    expected = transaction_metrics(tx, ["metric_time__month"])[["metric_time__month", "total_spend"]]
    assert len(expected) >= 2
    assert_frames_match(got, expected, ["metric_time__month"])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (MetricFilter("total_spend", "customer", "> 0 or 1 =", 1), "operator must be one of"),
        (MetricFilter("total_spend", "customer", ">", "1 or 1=1"), "finite number"),  # type: ignore[arg-type]
        (MetricFilter("total_spend", "customer", ">", float("inf")), "finite number"),
        (MetricFilter("no_such_metric", "customer", ">", 1), "unknown metric"),
        (MetricFilter("total_spend", "customer') }} or {{ x", ">", 1), "entity"),
        (TimeFilter("customer__state", start=dt.date(2025, 1, 1)), "not a time dimension"),
        (TimeFilter("customer__first_purchase_date", start="2025-01-01' or 1=1"), "must be dates"),  # type: ignore[arg-type]
        (TimeFilter("customer__first_purchase_date"), "give a start"),
        (TimeFilter("customer__first_purchase_date", dt.date(2025, 2, 1), dt.date(2025, 1, 1)), "after end"),
        (TimeFilter("customer__first_purchase_date", dt.date(2025, 1, 1), grain="hour"), "grain must be"),
    ],
)
def test_filters_are_checked_before_any_sql_is_built(
    built: tuple[MetricsClient, MartFrames], bad: object, message: str
) -> None:
    client, _ = built
    before = planning.compiled_sql.cache_info()
    with pytest.raises(MetricsQueryError, match=message):
        client.sql(["total_spend"], filters=[bad])  # type: ignore[list-item]
    after = planning.compiled_sql.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)  # MetricFlow was not asked
