"""Transaction and customer metrics, on DuckDB and Postgres, against an independent pandas computation.

The warehouses are the shared session fixtures of tests/conftest.py (generated data set,
built with `dbt build`, own DuckDB file / Postgres database and DBT_TARGET_PATH).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from c360.metrics.client import MetricsClient
from tests.metrics_expected import (
    MartFrames,
    assert_frames_match,
    first_purchase,
    transaction_metrics,
    truncate,
    with_customer,
)
from tests.metrics_warehouses import ENGINES, built_for, middle_window

TRANSACTION_METRICS = [
    "total_spend",
    "order_count",
    "items_sold",
    "active_customers",
    "average_order_value",
    "spend_per_customer",
]


@pytest.fixture(scope="module", params=ENGINES)
def built(request: pytest.FixtureRequest) -> tuple[MetricsClient, MartFrames]:
    """(metrics client, mart frames) for each engine's generated warehouse."""
    return built_for(request)


def test_transaction_metrics_by_month_and_category(built: tuple[MetricsClient, MartFrames]) -> None:
    client, frames = built
    got = client.query(TRANSACTION_METRICS, group_by=["transaction__category"], time_grain="month")
    tx = frames.transactions.assign(
        metric_time__month=truncate(frames.transactions["transaction_at"], "month")
    )
    tx = tx.rename(columns={"category": "transaction__category"})
    expected = transaction_metrics(tx, ["metric_time__month", "transaction__category"])
    assert len(expected) > 20
    assert_frames_match(got, expected, ["metric_time__month", "transaction__category"])


@pytest.mark.parametrize("dimension", ["rfm_segment", "age_band", "gender", "state"])
def test_transaction_metrics_by_customer_dimension(
    built: tuple[MetricsClient, MartFrames], dimension: str
) -> None:
    client, frames = built
    key = f"customer__{dimension}"
    got = client.query(TRANSACTION_METRICS, group_by=[key])
    expected = transaction_metrics(with_customer(frames, [dimension]), [key])
    assert len(expected) >= 2
    assert_frames_match(got, expected, [key])


@pytest.mark.parametrize("grain", ["day", "week", "quarter", "year"])
def test_total_spend_at_every_time_grain(built: tuple[MetricsClient, MartFrames], grain: str) -> None:
    client, frames = built
    column = f"metric_time__{grain}"
    got = client.query(["total_spend", "order_count"], time_grain=grain)
    tx = frames.transactions.assign(**{column: truncate(frames.transactions["transaction_at"], grain)})
    expected = transaction_metrics(tx, [column])[[column, "total_spend", "order_count"]]
    assert_frames_match(got, expected, [column])


def test_category_spend_and_share_metrics(built: tuple[MetricsClient, MartFrames]) -> None:
    client, frames = built
    slugs = sorted(frames.transactions["category_slug"].unique())
    assert len(slugs) == 7
    names = [f"{s}_spend" for s in slugs] + [f"{s}_spend_share" for s in slugs]
    got = client.query(names, time_grain="month")
    tx = frames.transactions.assign(
        metric_time__month=truncate(frames.transactions["transaction_at"], "month")
    )
    by_cat = tx.pivot_table(
        index="metric_time__month", columns="category_slug", values="amount", aggfunc="sum", fill_value=0.0
    )
    total = by_cat.sum(axis=1)
    expected = pd.DataFrame(index=by_cat.index)
    for slug in slugs:
        expected[f"{slug}_spend"] = by_cat[slug]
        expected[f"{slug}_spend_share"] = by_cat[slug] / total
    assert_frames_match(got, expected.reset_index(), ["metric_time__month"])
    # Shares of one month add up to 1.
    assert np.allclose(got[[f"{s}_spend_share" for s in slugs]].sum(axis=1), 1.0)


def test_customer_metrics_by_acquisition_month(built: tuple[MetricsClient, MartFrames]) -> None:
    client, frames = built
    names = ["new_customers", "purchasing_customers", "repeat_customers", "cohort_lifetime_repeat_rate"]
    got = client.query(names, time_grain="month")
    first = first_purchase(frames).assign(metric_time__month=lambda f: truncate(f["first_at"], "month"))
    grouped = first.groupby("metric_time__month")
    expected = pd.DataFrame(
        {
            "new_customers": grouped.size().astype("float64"),
            "purchasing_customers": grouped.size().astype("float64"),
            "repeat_customers": grouped["orders"].apply(lambda s: float((s >= 2).sum())),
        }
    )
    expected["cohort_lifetime_repeat_rate"] = expected["repeat_customers"] / expected["purchasing_customers"]
    assert_frames_match(got, expected.reset_index(), ["metric_time__month"])


@pytest.mark.parametrize("dimension", ["state", "rfm_segment"])
def test_customer_metrics_by_customer_dimension(
    built: tuple[MetricsClient, MartFrames], dimension: str
) -> None:
    client, frames = built
    key = f"customer__{dimension}"
    names = ["customer_count", "cohort_lifetime_repeat_rate", "avg_days_since_last_purchase"]
    got = client.query(names, group_by=[key])
    cu = frames.customers.merge(first_purchase(frames), left_on="customer_id", right_index=True, how="left")
    cu[key] = cu[dimension]
    grouped = cu.groupby(key, dropna=False)
    buyers = grouped["orders"].apply(lambda s: float((s >= 1).sum()))
    expected = pd.DataFrame(
        {
            "customer_count": grouped.size().astype("float64"),
            "cohort_lifetime_repeat_rate": grouped["orders"].apply(lambda s: float((s >= 2).sum()))
            / buyers.replace(0, np.nan),
            "avg_days_since_last_purchase": grouped["days_since_last"].mean(),
        }
    )
    assert_frames_match(got, expected.reset_index(), [key])


def test_trailing_30d_spend_by_day(built: tuple[MetricsClient, MartFrames]) -> None:
    client, frames = built
    start, end = middle_window(frames, days=45)
    got = client.query(["trailing_30d_spend"], time_grain="day", start=start, end=end)
    daily = frames.transactions.groupby(truncate(frames.transactions["transaction_at"], "day"))[
        "amount"
    ].sum()
    days = pd.date_range(start, end, freq="D").astype("datetime64[us]")
    expected = pd.DataFrame(
        {
            "metric_time__day": days,
            # 30 days up to and including the day: (day - 29 days) .. day.
            "trailing_30d_spend": [
                daily[(daily.index > d - pd.Timedelta(days=30)) & (daily.index <= d)].sum() for d in days
            ],
        }
    )
    assert (expected["trailing_30d_spend"] > 0).all()
    assert_frames_match(got, expected, ["metric_time__day"])


def test_trailing_30d_spend_by_day_and_category(built: tuple[MetricsClient, MartFrames]) -> None:
    """The cumulative metric reads the daily aggregate: same answer per category as transactions."""
    client, frames = built
    start, end = middle_window(frames, days=20)
    key = "product_category__category_name"
    got = client.query(["trailing_30d_spend"], group_by=[key], time_grain="day", start=start, end=end)
    tx = frames.transactions.assign(day=truncate(frames.transactions["transaction_at"], "day"))
    daily = tx.groupby(["category", "day"])["amount"].sum()
    rows = []
    for day in pd.date_range(start, end, freq="D").astype("datetime64[us]"):
        window = daily[
            (daily.index.get_level_values("day") > day - pd.Timedelta(days=30))
            & (daily.index.get_level_values("day") <= day)
        ]
        per_category = window.groupby(level="category").sum()
        rows += [
            {"metric_time__day": day, key: cat, "trailing_30d_spend": v} for cat, v in per_category.items()
        ]
    expected = pd.DataFrame(rows)
    assert expected[key].nunique() == frames.transactions["category"].nunique()
    assert_frames_match(got, expected, ["metric_time__day", key])


def test_category_entity_splits_transaction_metrics_like_the_category_column(
    built: tuple[MetricsClient, MartFrames],
) -> None:
    """product_category__category_name (seed join) and transaction__category give the same split."""
    client, frames = built
    via_entity = client.query(["total_spend", "order_count"], group_by=["product_category__category_name"])
    expected = (
        frames.transactions.groupby("category")
        .agg(total_spend=("amount", "sum"), order_count=("amount", "size"))
        .astype("float64")
        .rename_axis("product_category__category_name")
        .reset_index()
    )
    assert_frames_match(via_entity, expected, ["product_category__category_name"])
