"""Independent pandas computations of the customer-state, conversion and returning-customer
metrics, from the rows of marts.transactions (tests/metrics_expected.read_marts), never through
MetricFlow or the dbt models behind them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.metrics_expected import MartFrames, truncate
from tests.rfm_expected import segment


def ntile5(frame: pd.DataFrame, by: list[str], ascending: list[bool]) -> pd.Series:
    """SQL `ntile(5) over (order by <by>)`: the first n % 5 buckets hold one row more."""
    ordered = frame.sort_values(by, ascending=ascending, kind="stable").index
    size, extra = divmod(len(ordered), 5)
    labels = np.repeat(np.arange(1, 6), [size + (1 if b < extra else 0) for b in range(5)])
    return pd.Series(labels, index=ordered).reindex(frame.index)


def state_dates(as_of: pd.Timestamp, first_day: pd.Timestamp) -> list[pd.Timestamp]:
    """Every month's last day from `first_day`'s month, the last one cut to `as_of`."""
    ends = pd.date_range(first_day, as_of + pd.offsets.MonthEnd(0), freq="ME")
    return [min(end, as_of) for end in ends]


def customer_states(frames: MartFrames, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per customer and month end (as-of date for the last month) from the first
    purchase: spend and orders to date, recency in days and RFM segment scored among the
    customers who had purchased by then.
    """
    tx = frames.transactions.assign(day=frames.transactions["transaction_at"].dt.normalize())
    order_days = tx.groupby(["customer_id", "order_id"])["day"].min().reset_index()
    parts = []
    for end in state_dates(as_of, tx["day"].min()):
        upto = tx[tx["day"] <= end]
        if upto.empty:
            continue
        state = upto.groupby("customer_id").agg(spend=("amount", "sum"), last=("day", "max"))
        state["spend"] = state["spend"].round(6)
        state["orders"] = order_days[order_days["day"] <= end].groupby("customer_id").size()
        state["recency_days"] = (end - state["last"]).dt.days
        state = state.reset_index()
        r = ntile5(state, ["recency_days", "customer_id"], [False, True])
        f = ntile5(state, ["orders", "customer_id"], [True, True])
        m = ntile5(state, ["spend", "customer_id"], [True, True])
        state["rfm_segment"] = [segment(*s) for s in zip(r, f, m, strict=True)]
        parts.append(state.assign(state_date=end))
    return pd.concat(parts, ignore_index=True)


def at_period_end(states: pd.DataFrame, grain: str, keys: list[str]) -> pd.DataFrame:
    """customers / avg recency / spend to date on each period's latest state date, per `keys`."""
    column = f"metric_time__{grain}"
    states = states.assign(**{column: truncate(states["state_date"], grain)})
    last = states.groupby(column)["state_date"].transform("max")
    latest = states[states["state_date"] == last]
    grouped = latest.groupby([column, *keys])
    return pd.DataFrame(
        {
            "customers_at_period_end": grouped.size().astype("float64"),
            "avg_recency_days_at_period_end": grouped["recency_days"].mean(),
            "spend_to_date_at_period_end": grouped["spend"].sum(),
        }
    ).reset_index()


def second_orders(frames: MartFrames) -> pd.DataFrame:
    """Per purchasing customer: first order time and second order time (NaT without one)."""
    orders = frames.transactions.groupby(["customer_id", "order_id"])["transaction_at"].min().reset_index()
    orders = orders.sort_values(["customer_id", "transaction_at", "order_id"], kind="stable")
    orders["number"] = orders.groupby("customer_id").cumcount() + 1
    first = orders[orders["number"] == 1].set_index("customer_id")["transaction_at"].rename("first_at")
    second = orders[orders["number"] == 2].set_index("customer_id")["transaction_at"].rename("second_at")
    return pd.concat([first, second], axis=1)


def conversion_rates(frames: MartFrames, days: int, grain: str | None) -> pd.DataFrame:
    """second_purchase_within_<days>d_rate: share of first-time buyers whose second order is on
    the first order's day or within the `days - 1` days after, by the first order's period.
    """
    buyers = second_orders(frames)
    gap = (buyers["second_at"].dt.normalize() - buyers["first_at"].dt.normalize()).dt.days
    buyers["converted"] = (gap < days).astype("float64")  # NaN gap (no second order): False
    name = f"second_purchase_within_{days}d_rate"
    if grain is None:
        return pd.DataFrame({name: [buyers["converted"].mean()]})
    column = f"metric_time__{grain}"
    buyers[column] = truncate(buyers["first_at"], grain)
    return buyers.groupby(column)["converted"].mean().rename(name).reset_index()


def returning_shares(tx: pd.DataFrame, first_at: pd.Series, grain: str) -> pd.DataFrame:
    """(active - new) / active per period: `tx` the transactions counted, `first_at` the first
    purchase time of every customer (new = first purchase in the period).
    """
    column = f"metric_time__{grain}"
    period = truncate(tx["transaction_at"], grain)
    active = tx.groupby(period)["customer_id"].nunique()
    first_period = truncate(first_at[first_at.index.isin(tx["customer_id"])], grain)
    new = first_period.value_counts().reindex(active.index, fill_value=0)
    return pd.DataFrame(
        {
            column: active.index.astype("datetime64[us]"),
            "active_customers": active.to_numpy(dtype="float64"),
            "returning_customer_share": ((active - new) / active).to_numpy(dtype="float64"),
        }
    )
