"""Time-period metrics (growth, cumulative, to-date, the as-of end and partial months) on DuckDB
and Postgres, against an independent pandas computation of the generated warehouse's marts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from c360.metrics.client import MetricsClient, MetricsQueryError
from tests.metrics_expected import (
    PERIOD_CODES,
    MartFrames,
    assert_frames_match,
    client_for,
    read_marts,
    truncate,
    with_customer,
)
from tests.metrics_warehouses import (
    ENGINES,
    as_of_date,
    built_for,
    data_ending_on,
    middle_window,
    source_warehouse,
)


@pytest.fixture(scope="module", params=ENGINES)
def built(request: pytest.FixtureRequest) -> tuple[MetricsClient, MartFrames]:
    """(metrics client, mart frames) for each engine's generated warehouse."""
    return built_for(request)


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
    last_month = truncate(pd.Series([as_of_date(built[0])]), "month")[0]
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
    last_month = truncate(pd.Series([as_of_date(built[0])]), "month")[0]
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
    as_of = as_of_date(built[0])
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
    as_of = as_of_date(built[0])
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


@pytest.mark.parametrize("engine", ENGINES)
def test_partial_month_ends_at_the_as_of_date(
    request: pytest.FixtureRequest, engine: str, tmp_path: Path
) -> None:
    """Data ending mid-month: that month is the last period, trailing_30d_spend shows the as-of
    day's value (not a month-end value over days without data), growth compares the partial month.
    """
    source = source_warehouse(request, engine)
    frames = read_marts(source)
    last = frames.transactions["transaction_at"].max().normalize()
    cutoff = (last - pd.DateOffset(months=1)).replace(day=14).date()
    with data_ending_on(source, cutoff, tmp_path) as copy:
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
    start, end = middle_window(frames, days=70)
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
