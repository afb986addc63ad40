"""Every named metric, on DuckDB and Postgres, against an independent pandas computation.

The warehouses are the shared session fixtures of tests/conftest.py (generated data set,
built with `dbt build`, own DuckDB file / Postgres database and DBT_TARGET_PATH).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import psycopg2
import pytest

from c360.metrics.client import MetricsClient, MetricsQueryError
from c360.warehouse import query
from tests.conftest import Warehouse, duckdb_warehouse, new_pg_database, pg_warehouse
from tests.metrics_expected import (
    PERIOD_CODES,
    MartFrames,
    assert_frames_match,
    client_for,
    first_purchase,
    read_marts,
    transaction_metrics,
    truncate,
    with_customer,
)

TRANSACTION_METRICS = [
    "total_spend",
    "order_count",
    "items_sold",
    "active_customers",
    "average_order_value",
    "spend_per_customer",
]


def _middle_window(frames: MartFrames, days: int) -> tuple[dt.date, dt.date]:
    """A `days`-long date window in the middle of the data's time range."""
    times = frames.transactions["transaction_at"]
    middle = (times.min() + (times.max() - times.min()) / 2).date()
    return middle - dt.timedelta(days=days // 2), middle + dt.timedelta(days=days - days // 2 - 1)


ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


def _source(request: pytest.FixtureRequest, engine: str) -> Warehouse:
    name = "duckdb_warehouse_generated" if engine == "duckdb" else "pg_warehouse_generated"
    return request.getfixturevalue(name)


@pytest.fixture(scope="module", params=ENGINES)
def built(request: pytest.FixtureRequest) -> tuple[MetricsClient, MartFrames]:
    """(metrics client, mart frames) for each engine's generated warehouse."""
    warehouse = _source(request, request.param)
    return client_for(warehouse), read_marts(warehouse)


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
    start, end = _middle_window(frames, days=45)
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
    start, end = _middle_window(frames, days=20)
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


def _as_of(built: tuple[MetricsClient, MartFrames]) -> pd.Timestamp:
    """The build's as-of date, read from marts.customers (plain SQL, not the semantic layer)."""
    client, _ = built
    frame = query(client.warehouse, "select max(as_of_date) as as_of_date from marts.customers")
    return pd.Timestamp(frame["as_of_date"].iloc[0])


def _monthly_growth(monthly: pd.Series, last_month: pd.Timestamp) -> pd.DataFrame:
    """Month-over-month growth per month: every month with spend itself or in the month before,
    up to the as-of month; a month without spend after one with spend is -100%, null after a
    month without spend.
    """
    previous = monthly.copy()
    previous.index = previous.index + pd.DateOffset(months=1)
    months = monthly.index.union(previous.index)
    months = months[months <= last_month]
    current, before = monthly.reindex(months), previous.reindex(months)
    growth = (current.fillna(0.0) - before) / before
    return pd.DataFrame({"total_spend": current, "spend_mom_growth": growth})


def test_spend_mom_growth(built: tuple[MetricsClient, MartFrames]) -> None:
    client, frames = built
    got = client.query(["total_spend", "spend_mom_growth"], time_grain="month")
    month = truncate(frames.transactions["transaction_at"], "month")
    monthly = frames.transactions.groupby(month)["amount"].sum()
    last_month = truncate(pd.Series([_as_of(built)]), "month")[0]
    expected = _monthly_growth(monthly, last_month)
    expected.index.name = "metric_time__month"
    assert expected["spend_mom_growth"].notna().sum() >= 6
    assert_frames_match(got, expected.reset_index(), ["metric_time__month"])
    # metric_time is added at month grain when the query has none.
    assert_frames_match(
        client.query(["spend_mom_growth"]),
        got[["metric_time__month", "spend_mom_growth"]],
        ["metric_time__month"],
    )


def test_spend_mom_growth_is_minus_100_percent_when_a_group_stops_buying(
    built: tuple[MetricsClient, MartFrames],
) -> None:
    """By RFM segment some segments stop buying (Hibernating: last purchases long ago): -1, not null."""
    client, frames = built
    key = "customer__rfm_segment"
    got = client.query(["spend_mom_growth"], group_by=[key], time_grain="month")
    tx = with_customer(frames, ["rfm_segment"])
    last_month = truncate(pd.Series([_as_of(built)]), "month")[0]
    parts = []
    for segment, rows in tx.groupby(key):
        monthly = rows.groupby(truncate(rows["transaction_at"], "month"))["amount"].sum()
        part = _monthly_growth(monthly, last_month)[["spend_mom_growth"]]
        parts.append(part.rename_axis("metric_time__month").reset_index().assign(**{key: segment}))
    expected = pd.concat(parts, ignore_index=True)
    assert (expected["spend_mom_growth"] == -1.0).sum() >= 1
    assert_frames_match(got, expected, ["metric_time__month", key])


@pytest.mark.parametrize("grain", ["day", "week", "quarter", "year"])
def test_spend_mom_growth_only_at_month_grain(built: tuple[MetricsClient, MartFrames], grain: str) -> None:
    client, _ = built
    with pytest.raises(MetricsQueryError, match="defined at month grain only"):
        client.query(["spend_mom_growth"], time_grain=grain)
    with pytest.raises(MetricsQueryError, match="defined at month grain only"):
        client.query(["total_spend", "spend_mom_growth"], group_by=[f"metric_time__{grain}"])
    offered = {d.name: d.grains for d in client.dimensions(["spend_mom_growth"])}
    assert offered["metric_time"] == ("month",)
    assert grain in {d.name: d.grains for d in client.dimensions(["total_spend"])}["metric_time"]


@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter", "year"])
def test_no_metric_has_a_period_after_the_as_of_date(
    built: tuple[MetricsClient, MartFrames], grain: str
) -> None:
    client, _ = built
    as_of = _as_of(built)
    names = ["total_spend", "trailing_30d_spend", *(["spend_mom_growth"] if grain == "month" else [])]
    got = client.query(names, time_grain=grain)
    column = f"metric_time__{grain}"
    assert got[column].max() == truncate(pd.Series([as_of]), grain)[0]


@pytest.mark.parametrize("grain", ["week", "month", "year"])
def test_trailing_30d_spend_of_a_period_is_its_last_day_up_to_the_as_of_date(
    built: tuple[MetricsClient, MartFrames], grain: str
) -> None:
    """period_agg last: the value on the period's last day, the as-of day for the current period
    (the generated data ends on 30 June 2025, a Monday: its last week is partial, so is its year).
    """
    client, frames = built
    as_of = _as_of(built)
    got = client.query(["trailing_30d_spend"], time_grain=grain)
    daily = frames.transactions.groupby(truncate(frames.transactions["transaction_at"], "day"))[
        "amount"
    ].sum()
    column = f"metric_time__{grain}"
    starts = truncate(pd.Series(pd.date_range(daily.index.min(), as_of, freq="D")), grain).unique()
    rows = []
    for start in starts:
        end = pd.Period(start, PERIOD_CODES[grain]).end_time.normalize()
        day = min(end, as_of)
        rows.append(
            {
                column: start,
                "trailing_30d_spend": daily[
                    (daily.index > day - pd.Timedelta(days=30)) & (daily.index <= day)
                ].sum(),
            }
        )
    expected = pd.DataFrame(rows)
    expected[column] = expected[column].astype("datetime64[us]")
    assert_frames_match(got, expected, [column])


def test_filters_and_time_range(built: tuple[MetricsClient, MartFrames]) -> None:
    client, frames = built
    start, end = _middle_window(frames, days=90)
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


@contextmanager
def _data_ending_on(source: Warehouse, cutoff: dt.date, directory: Path) -> Iterator[Warehouse]:
    """A copy of `source` whose transactions end on `cutoff` (later rows deleted from the marts
    the metrics read) with the time spine rebuilt by dbt: data that ends in the middle of a month.
    """
    delete = [
        "delete from marts.transactions where transaction_date > %s",
        "delete from marts.daily_category_spend where spend_date > %s",
    ]
    if source.target == "duckdb":
        copy = duckdb_warehouse(directory)
        assert source.duckdb_path is not None and copy.duckdb_path is not None
        shutil.copyfile(source.duckdb_path, copy.duckdb_path)
        con = duckdb.connect(str(copy.duckdb_path))
        for sql in delete:
            con.execute(sql.replace("%s", "?"), [cutoff])
        con.close()
        copy.dbt(["run", "--select", "metricflow_time_spine"])
        yield copy
        return
    assert source.pg is not None
    with new_pg_database("partial", template=source.pg.dbname) as settings:
        copy = pg_warehouse(settings, directory)
        with psycopg2.connect(settings.dsn()) as con, con.cursor() as cur:
            for sql in delete:
                cur.execute(sql, (cutoff,))
        con.close()
        copy.dbt(["run", "--select", "metricflow_time_spine"])
        yield copy


@pytest.mark.parametrize("engine", ENGINES)
def test_partial_month_ends_at_the_as_of_date(
    request: pytest.FixtureRequest, engine: str, tmp_path: Path
) -> None:
    """Data ending mid-month: that month is the last period, trailing_30d_spend shows the as-of
    day's value (not a month-end value over days without data), growth compares the partial month.
    """
    source = _source(request, engine)
    frames = read_marts(source)
    last = frames.transactions["transaction_at"].max().normalize()
    cutoff = (last - pd.DateOffset(months=1)).replace(day=14).date()
    with _data_ending_on(source, cutoff, tmp_path) as copy:
        client = client_for(copy)
        tx = frames.transactions[
            frames.transactions["transaction_at"] < pd.Timestamp(cutoff) + pd.Timedelta(days=1)
        ]
        as_of = tx["transaction_at"].max().normalize()
        month = truncate(pd.Series([as_of]), "month")[0]
        assert as_of.day < 28  # a partial month
        got = client.query(["total_spend", "trailing_30d_spend", "spend_mom_growth"], time_grain="month")
        assert got["metric_time__month"].max() == month
        daily = tx.groupby(truncate(tx["transaction_at"], "day"))["amount"].sum()
        window = daily[(daily.index > as_of - pd.Timedelta(days=30)) & (daily.index <= as_of)].sum()
        month_end = as_of + pd.offsets.MonthEnd(0)
        at_month_end = daily[(daily.index > month_end - pd.Timedelta(days=30))].sum()
        row = got.set_index("metric_time__month").loc[month]
        assert row["trailing_30d_spend"] == pytest.approx(window, rel=1e-9)
        assert window > at_month_end  # the month-end value would be another number
        monthly = tx.groupby(truncate(tx["transaction_at"], "month"))["amount"].sum()
        expected = _monthly_growth(monthly, month).rename_axis("metric_time__month").reset_index()
        assert_frames_match(got, expected, ["metric_time__month"])
        days = client.query(["trailing_30d_spend"], time_grain="day")
        assert days["metric_time__day"].max() == as_of


@pytest.mark.parametrize(
    ("metric", "period"), [("spend_month_to_date", "month"), ("spend_year_to_date", "year")]
)
def test_spend_to_date_by_day(built: tuple[MetricsClient, MartFrames], metric: str, period: str) -> None:
    """grain_to_date: spend from the start of the day's month (year) through the day."""
    client, frames = built
    start, end = _middle_window(frames, days=70)
    got = client.query([metric], time_grain="day", start=start, end=end)
    daily = frames.transactions.groupby(truncate(frames.transactions["transaction_at"], "day"))[
        "amount"
    ].sum()
    days = pd.Series(pd.date_range(start, end, freq="D").astype("datetime64[us]"))
    period_start = truncate(days, period)
    expected = pd.DataFrame(
        {
            "metric_time__day": days,
            metric: [
                daily[(daily.index >= p) & (daily.index <= d)].sum()
                for d, p in zip(days, period_start, strict=True)
            ],
        }
    )
    assert_frames_match(got, expected, ["metric_time__day"])


def test_spend_to_date_by_month(built: tuple[MetricsClient, MartFrames]) -> None:
    """By month: month-to-date is the month's spend, year-to-date the year's spend through it."""
    client, frames = built
    got = client.query(["total_spend", "spend_month_to_date", "spend_year_to_date"], time_grain="month")
    month = truncate(frames.transactions["transaction_at"], "month")
    monthly = frames.transactions.groupby(month)["amount"].sum().rename_axis("metric_time__month")
    expected = pd.DataFrame({"spend_month_to_date": monthly})
    expected["spend_year_to_date"] = monthly.groupby(monthly.index.year).cumsum()
    assert_frames_match(got, expected.reset_index(), ["metric_time__month"])


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
