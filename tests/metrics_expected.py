"""Independent pandas computations of the semantic-layer metrics, for tests/test_metrics_*.py.

Everything here is computed from the rows of marts.transactions and marts.customers read
with plain SQL, never through MetricFlow, so a wrong metric definition shows as a mismatch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from c360.metrics.client import MetricsClient
from c360.warehouse import Warehouse as ExecTarget
from tests.conftest import Warehouse

PERIOD_CODES = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}


# The metrics the semantic-layer issue names (plus one generated category share).
NAMED_METRICS = [
    "total_spend",
    "order_count",
    "items_sold",
    "average_order_value",
    "active_customers",
    "spend_per_customer",
    "new_customers",
    "cohort_lifetime_repeat_rate",
    "avg_days_since_last_purchase",
    "trailing_30d_spend",
    "spend_mom_growth",
    "spend_month_to_date",
    "spend_year_to_date",
    "books_spend_share",
]


@dataclass(frozen=True)
class MartFrames:
    """The two marts as pandas frames (amounts as float, times as naive datetime64)."""

    transactions: pd.DataFrame
    customers: pd.DataFrame


def client_for(warehouse: Warehouse) -> MetricsClient:
    """A metrics client on a tests.conftest.Warehouse (its own manifest and database)."""
    target = warehouse.target
    manifest = Path(warehouse.target_path) / "semantic_manifest.json"
    if target == "duckdb":
        return MetricsClient(ExecTarget("duckdb", duckdb_path=warehouse.duckdb_path), manifest)
    return MetricsClient(ExecTarget("postgres", pg=warehouse.pg), manifest)


def read_marts(warehouse: Warehouse) -> MartFrames:
    """Read the two marts with plain SQL through the fixture's own connection helper."""
    tx = warehouse.query(
        "select transaction_id, order_id, customer_id, transaction_at, amount, item_count, category, "
        "category_slug "
        "from marts.transactions"
    )
    cu = warehouse.query("select customer_id, gender, age_band, state, rfm_segment from marts.customers")
    tx["amount"] = tx["amount"].astype(object).map(float).astype("float64")
    tx["item_count"] = tx["item_count"].astype("int64")
    tx["transaction_at"] = pd.to_datetime(tx["transaction_at"]).astype("datetime64[us]")
    return MartFrames(transactions=tx, customers=cu)


def truncate(times: pd.Series, grain: str) -> pd.Series:
    """DATE_TRUNC(grain, t) in pandas (weeks start on Monday, as in DuckDB and Postgres)."""
    return times.dt.to_period(PERIOD_CODES[grain]).dt.start_time.astype("datetime64[us]")


def first_purchase(frames: MartFrames) -> pd.DataFrame:
    """Per purchasing customer, from transactions: first purchase time, lifetime order count
    (distinct order_id) and days since the last purchase as of the latest transaction date (the
    build's default as-of date).
    """
    tx = frames.transactions
    out = tx.groupby("customer_id").agg(
        first_at=("transaction_at", "min"),
        last_at=("transaction_at", "max"),
        orders=("order_id", "nunique"),
    )
    as_of = tx["transaction_at"].max().normalize()
    out["days_since_last"] = (as_of - out["last_at"].dt.normalize()).dt.days.astype("float64")
    return out


def with_customer(frames: MartFrames, columns: Sequence[str]) -> pd.DataFrame:
    """Transactions with customer attributes joined (customer__<column>)."""
    cu = frames.customers[["customer_id", *columns]].rename(columns={c: f"customer__{c}" for c in columns})
    return frames.transactions.merge(cu, on="customer_id", how="left", validate="many_to_one")


def transaction_metrics(tx: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """total_spend, order_count, items_sold, active_customers and the ratios per group."""
    grouped = tx.groupby(keys, dropna=False)
    out = pd.DataFrame(
        {
            "total_spend": grouped["amount"].sum(),
            "order_count": grouped["order_id"].nunique().astype("float64"),
            "items_sold": grouped["item_count"].sum().astype("float64"),
            "active_customers": grouped["customer_id"].nunique().astype("float64"),
        }
    ).reset_index()
    out["average_order_value"] = out["total_spend"] / out["order_count"]
    out["spend_per_customer"] = out["total_spend"] / out["active_customers"]
    return out


def assert_frames_match(
    actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str], rtol: float = 1e-9
) -> None:
    """Same key set, and every expected value column equal within rtol (NaN equals NaN)."""
    value_columns = [c for c in expected.columns if c not in keys]
    missing = [c for c in [*keys, *value_columns] if c not in actual.columns]
    assert not missing, f"columns {missing} missing from {list(actual.columns)}"
    merged = actual[[*keys, *value_columns]].merge(
        expected, on=keys, how="outer", suffixes=("", "__expected"), indicator=True
    )
    unmatched = merged[merged["_merge"] != "both"]
    assert unmatched.empty, f"group keys differ:\n{unmatched[[*keys, '_merge']].head(20)}"
    for column in value_columns:
        got = merged[column].astype("float64").to_numpy()
        want = merged[f"{column}__expected"].astype("float64").to_numpy()
        bad = ~np.isclose(got, want, rtol=rtol, atol=1e-9, equal_nan=True)
        assert not bad.any(), (
            f"{column} differs:\n{merged.loc[bad, [*keys, column, column + '__expected']].head(20)}"
        )
