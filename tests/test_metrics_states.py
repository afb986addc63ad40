"""Customer state over time (customers/recency/spend to date at period end, by the segment of
the time), conversion (second purchase within 30/90 days) and returning customer share, on
DuckDB and Postgres, against independent pandas computations of marts.transactions' rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from c360.metrics.client import MetricsClient
from c360.warehouse import query
from tests.metrics_expected import MartFrames, assert_frames_match, client_for, first_purchase, read_marts
from tests.metrics_expected_states import (
    at_period_end,
    conversion_rates,
    customer_states,
    returning_shares,
)
from tests.metrics_warehouses import ENGINES, as_of_date, built_for, data_ending_on, source_warehouse

STATE_METRICS = ["customers_at_period_end", "avg_recency_days_at_period_end", "spend_to_date_at_period_end"]
SEGMENT = "customer_state__rfm_segment"
# What reads marts.transactions for the new metrics, rebuilt on a copy cut in the middle of a month.
REBUILD = ("metricflow_time_spine", "customers", "repeat_orders", "customer_monthly_states")


@pytest.fixture(scope="module", params=ENGINES)
def built(request: pytest.FixtureRequest) -> tuple[MetricsClient, MartFrames]:
    """(metrics client, mart frames) for each engine's generated warehouse."""
    return built_for(request)


@pytest.fixture(scope="module")
def states(built: tuple[MetricsClient, MartFrames]) -> pd.DataFrame:
    """The customer states recomputed in pandas for the engine's warehouse."""
    client, frames = built
    return customer_states(frames, as_of_date(client))


@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter", "year"])
def test_state_metrics_at_period_end(
    built: tuple[MetricsClient, MartFrames], states: pd.DataFrame, grain: str
) -> None:
    """A period's value is the state on its latest month end (non-additive), never a sum."""
    client, _ = built
    got = client.query(STATE_METRICS, time_grain=grain)
    expected = at_period_end(states, grain, [])
    assert len(expected) >= 2
    assert_frames_match(got, expected, [f"metric_time__{grain}"])


@pytest.mark.parametrize("grain", ["month", "quarter"])
def test_segments_over_time_use_the_segment_of_the_time(
    built: tuple[MetricsClient, MartFrames], states: pd.DataFrame, grain: str
) -> None:
    client, _ = built
    got = client.query(STATE_METRICS, group_by=[SEGMENT], time_grain=grain)
    expected = at_period_end(states.rename(columns={"rfm_segment": SEGMENT}), grain, [SEGMENT])
    assert_frames_match(got, expected, [f"metric_time__{grain}", SEGMENT])
    # Past months carry past segments: many customers were in another segment then.
    as_of = states["state_date"].max()
    now = states[states["state_date"] == as_of].set_index("customer_id")["rfm_segment"]
    past = states[states["state_date"] < as_of]
    assert (past["rfm_segment"].to_numpy() != now.reindex(past["customer_id"]).to_numpy()).sum() > 100


def test_state_without_metric_time_is_the_as_of_state_and_matches_customers(
    built: tuple[MetricsClient, MartFrames], states: pd.DataFrame
) -> None:
    """The as-of month's states equal marts.customers (one RFM scoring, c360.rfm_scores)."""
    client, frames = built
    got = client.query(["customers_at_period_end"], group_by=[SEGMENT])
    buyers = frames.customers[frames.customers["customer_id"].isin(frames.transactions["customer_id"])]
    expected = buyers.groupby("rfm_segment").size().astype("float64").rename("customers_at_period_end")
    assert_frames_match(got, expected.rename_axis(SEGMENT).reset_index(), [SEGMENT])
    latest = query(
        client.warehouse,
        "select s.customer_id, s.rfm_segment as state_segment, c.rfm_segment, s.recency_days, "
        "c.days_since_last_purchase from marts.customer_monthly_states as s "
        "inner join marts.customers as c on s.customer_id = c.customer_id "
        "where s.month_end = c.as_of_date",
    )
    assert len(latest) == len(buyers)
    assert (latest["state_segment"] == latest["rfm_segment"]).all()
    assert (latest["recency_days"] == latest["days_since_last_purchase"]).all()
    pandas_now = states[states["state_date"] == states["state_date"].max()].set_index("customer_id")
    assert (
        pandas_now["rfm_segment"].reindex(latest["customer_id"]).to_numpy() == latest["rfm_segment"]
    ).all()


@pytest.mark.parametrize("days", [30, 90])
@pytest.mark.parametrize("grain", [None, "day", "week", "month", "quarter"])
def test_second_purchase_within_days_rate(
    built: tuple[MetricsClient, MartFrames], days: int, grain: str | None
) -> None:
    client, frames = built
    name = f"second_purchase_within_{days}d_rate"
    got = client.query([name], time_grain=grain)
    expected = conversion_rates(frames, days, grain)
    if grain is None:
        assert got[name].iloc[0] == pytest.approx(expected[name].iloc[0], rel=1e-9)
        return
    assert_frames_match(got, expected, [f"metric_time__{grain}"])
    if grain == "day":  # days whose buyers did not return within the window: 0, not null
        assert (expected[name] == 0).sum() >= 1


def test_conversion_window_30_is_at_most_90(built: tuple[MetricsClient, MartFrames]) -> None:
    client, _ = built
    got = client.query(
        ["second_purchase_within_30d_rate", "second_purchase_within_90d_rate"], time_grain="month"
    )
    assert (got["second_purchase_within_30d_rate"] <= got["second_purchase_within_90d_rate"]).all()
    assert (got["second_purchase_within_30d_rate"] < got["second_purchase_within_90d_rate"]).any()


@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter", "year"])
def test_returning_customer_share(built: tuple[MetricsClient, MartFrames], grain: str) -> None:
    client, frames = built
    got = client.query(["returning_customer_share", "active_customers"], time_grain=grain)
    expected = returning_shares(frames.transactions, first_purchase(frames)["first_at"], grain)
    assert_frames_match(got, expected, [f"metric_time__{grain}"])
    assert expected["returning_customer_share"].between(0, 1).all()


def test_returning_customer_share_is_one_when_a_period_has_no_new_customer(
    built: tuple[MetricsClient, MartFrames],
) -> None:
    """Filtered to one state by day: many days have buyers but no new customer (share 1, not null)."""
    client, frames = built
    state = frames.customers["state"].value_counts().index[-1]
    got = client.query(["returning_customer_share"], time_grain="day", where={"customer__state": [state]})
    ids = set(frames.customers.loc[frames.customers["state"] == state, "customer_id"])
    tx = frames.transactions[frames.transactions["customer_id"].isin(ids)]
    expected = returning_shares(tx, first_purchase(frames)["first_at"], "day")
    assert (expected["returning_customer_share"] == 1.0).sum() >= 5
    assert_frames_match(got, expected.drop(columns=["active_customers"]), ["metric_time__day"])


@pytest.mark.parametrize("engine", ENGINES)
def test_new_metrics_in_a_partial_month(request: pytest.FixtureRequest, engine: str, tmp_path: Path) -> None:
    """Data ending mid-month: the states of that month are taken at the as-of date, and the
    conversion and returning-customer metrics count only what happened up to it.
    """
    source = source_warehouse(request, engine)
    frames = read_marts(source)
    last = frames.transactions["transaction_at"].max().normalize()
    cutoff = (last - pd.DateOffset(months=2)).replace(day=10).date()
    with data_ending_on(source, cutoff, tmp_path, REBUILD) as copy:
        client = client_for(copy)
        tx = frames.transactions[
            frames.transactions["transaction_at"] < pd.Timestamp(cutoff + dt.timedelta(days=1))
        ]
        cut = MartFrames(transactions=tx, customers=frames.customers)
        as_of = as_of_date(client)
        assert as_of == pd.Timestamp(cutoff)
        states = customer_states(cut, as_of)
        for grain in ("month", "quarter"):
            got = client.query(STATE_METRICS, time_grain=grain)
            assert_frames_match(got, at_period_end(states, grain, []), [f"metric_time__{grain}"])
        got = client.query(["second_purchase_within_30d_rate"], time_grain="month")
        assert_frames_match(got, conversion_rates(cut, 30, "month"), ["metric_time__month"])
        got = client.query(["returning_customer_share", "active_customers"], time_grain="week")
        expected = returning_shares(tx, first_purchase(cut)["first_at"], "week")
        assert_frames_match(got, expected, ["metric_time__week"])
