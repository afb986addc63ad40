"""Cached queries behind the Overview, Customer profile and Segments pages (search: `c360.app.search`).

Every function takes the `Warehouse` (part of the cache key, with the DuckDB file's
mtime, so a rebuild is picked up) and the widget values as parameters; results are
cached for `TTL_SECONDS`. Everything is aggregated in SQL and row counts are limited,
so a warm page render stays well under a second at 100,000 customers.
User input reaches SQL only as bound `?` parameters.
"""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType
from typing import Any

import pandas as pd
import streamlit as st

from c360.warehouse import BUILD_HINT, TableMissing, Warehouse, query, table_exists

TTL_SECONDS = 60
AGE_BANDS = ("under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
PERIODS = MappingProxyType({"Last 30 days": 30, "Last 90 days": 90, "Last 365 days": 365})


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _missing(wh: Warehouse, tables: tuple[str, ...]) -> list[str]:
    return [t for t in tables if not table_exists(wh, *t.split("."))]


def require(wh: Warehouse, *tables: str) -> None:
    """Raise `TableMissing` (saying what to run) unless every `schema.table` exists."""
    missing = _missing(wh, tables)
    if missing:
        names = ", ".join(f"`{t}`" for t in missing)
        raise TableMissing(f"The warehouse has no {names} yet. {BUILD_HINT}")


# --------------------------------------------------------------------------- overview
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def latest_transaction_date(wh: Warehouse) -> dt.date | None:
    """The data's latest transaction date (periods are anchored here, not at today)."""
    frame = query(wh, "select max(transaction_date) as latest from marts.transactions")
    value = frame["latest"].iloc[0]
    return None if pd.isna(value) else pd.Timestamp(value).date()


def period_bounds(anchor: dt.date, days: int) -> tuple[dt.date, dt.date, dt.date]:
    """(previous_start, current_start, anchor): current = (current_start, anchor], previous before it."""
    current_start = anchor - dt.timedelta(days=days)
    return current_start - dt.timedelta(days=days), current_start, anchor


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def period_kpis(wh: Warehouse, anchor: dt.date, days: int) -> pd.DataFrame:
    """Spend, orders, AOV and active customers for the current and the previous period.

    One row per period (`current`, `previous`), both always present.
    """
    previous_start, current_start, end = period_bounds(anchor, days)
    frame = query(
        wh,
        """
        select
            case when transaction_date > ? then 'current' else 'previous' end as period,
            sum(amount) as spend,
            count(distinct order_id) as orders,
            count(distinct customer_id) as active_customers
        from marts.transactions
        where transaction_date > ? and transaction_date <= ?
        group by 1
        """,
        (current_start, previous_start, end),
    )
    base = pd.DataFrame({"period": ["current", "previous"]})
    out = base.merge(frame, on="period", how="left")
    out[["spend", "orders", "active_customers"]] = (
        out[["spend", "orders", "active_customers"]].astype(float).fillna(0.0)
    )
    out["aov"] = out["spend"].where(out["orders"] > 0) / out["orders"].where(out["orders"] > 0)
    return out.set_index("period")


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def monthly_spend_by_category(wh: Warehouse, since: dt.date) -> pd.DataFrame:
    """Spend and orders per month and category from `since` (exclusive) on."""
    return query(
        wh,
        """
        select
            cast(date_trunc('month', transaction_date) as date) as month,
            category,
            sum(amount) as spend,
            count(distinct order_id) as orders
        from marts.transactions
        where transaction_date > ?
        group by 1, 2
        order by 1, 2
        """,
        (since,),
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def max_loaded_at(wh: Warehouse) -> pd.Timestamp | None:
    """The latest `loaded_at` in the marts (fallback freshness when there is no sources.json)."""
    frame = query(wh, "select max(loaded_at) as loaded_at from marts.transactions")
    value = frame["loaded_at"].iloc[0]
    return None if pd.isna(value) else pd.Timestamp(value)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def customer_counts(wh: Warehouse) -> dict[str, int]:
    """Total customers and customers with at least one purchase."""
    frame = query(
        wh,
        "select count(*) as customers, count(first_purchase_date) as buyers from marts.customers",
    )
    return {"customers": int(frame["customers"].iloc[0]), "buyers": int(frame["buyers"].iloc[0])}


# --------------------------------------------------------------------------- customer
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def customer_profile(wh: Warehouse, customer_id: str) -> dict[str, Any] | None:
    """The customer's row of `marts.customers` joined with its RFM segment's meaning."""
    frame = query(
        wh,
        """
        select c.*, s.description as segment_description, s.recommended_action as segment_action
        from marts.customers as c
        left join marts.rfm_segments as s on s.rfm_segment = c.rfm_segment
        where c.customer_id = ?
        """,
        (customer_id,),
    )
    return None if frame.empty else frame.iloc[0].to_dict()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def customer_transactions(wh: Warehouse, customer_id: str, limit: int = 2000) -> pd.DataFrame:
    """The customer's transactions, oldest first (at most `limit`)."""
    return query(
        wh,
        """
        select transaction_id, transaction_at, transaction_date, amount, item_count, category
        from marts.transactions
        where customer_id = ?
        order by transaction_at
        limit ?
        """,
        (customer_id, int(limit)),
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def customer_category_mix(wh: Warehouse, customer_id: str) -> pd.DataFrame:
    """Spend and orders per category for one customer."""
    return query(
        wh,
        """
        select category, amount, order_count, items_purchased, last_purchase_at
        from marts.customer_category_spend
        where customer_id = ?
        order by amount desc
        """,
        (customer_id,),
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def customer_recommendations(wh: Warehouse, customer_id: str) -> pd.DataFrame | None:
    """Next best categories for one customer, or None while the recommender is not built."""
    if not table_exists(wh, "marts", "next_best_category"):
        return None
    return query(
        wh,
        """
        select rank, category, score, reason
        from marts.next_best_category
        where customer_id = ?
        order by rank
        """,
        (customer_id,),
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def customer_quality(wh: Warehouse, contact_id: str, customer_id: str) -> dict[str, pd.DataFrame]:
    """The customer's data-quality evidence, each a frame (absent when its quality table is not built).

    `held`: every quarantined transaction on the contact id (raw values, reason, source file and row;
    `amount_value` is the amount where it reads as a number); `identity_conflicts`: every record
    sharing the contact id; `orphans`: orphan transactions whose contact id is a near match.
    """
    out: dict[str, pd.DataFrame] = {}
    if table_exists(wh, "quality", "quarantined_transactions"):
        held = query(
            wh,
            """
            select id as transaction_id, transaction_date, amount, category, reason,
                _source_file, _source_row_number
            from quality.quarantined_transactions
            where trim(contact_id) = ?
            order by _source_row_number
            """,
            (contact_id,),
        )
        readable = pd.to_numeric(held["amount"].astype("string").str.strip(), errors="coerce")
        held.insert(3, "amount_value", readable.astype("float64"))
        out["held"] = held
    if table_exists(wh, "quality", "identity_conflicts"):
        out["identity_conflicts"] = query(
            wh,
            """
            select customer_id, username, full_name, email, _source_row_number
            from quality.identity_conflicts
            where contact_id = ?
            order by _source_row_number
            """,
            (contact_id,),
        )
    if table_exists(wh, "quality", "orphan_transaction_candidates"):
        out["orphans"] = query(
            wh,
            """
            select transaction_id, contact_id, edit_distance
            from quality.orphan_transaction_candidates
            where candidate_customer_id = ?
            order by edit_distance, transaction_id
            """,
            (customer_id,),
        )
    return out


# --------------------------------------------------------------------------- segments
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def segment_summary(wh: Warehouse) -> pd.DataFrame:
    """Customers, spend and average recency per RFM segment, in the seed's order."""
    return query(
        wh,
        """
        select
            c.rfm_segment,
            count(*) as customers,
            coalesce(sum(c.total_spend), 0) as total_spend,
            avg(c.total_spend) as average_spend,
            avg(c.days_since_last_purchase) as average_recency_days,
            max(s.description) as description,
            max(s.recommended_action) as recommended_action,
            min(s.sort_order) as sort_order
        from marts.customers as c
        left join marts.rfm_segments as s on s.rfm_segment = c.rfm_segment
        group by c.rfm_segment
        order by min(s.sort_order), c.rfm_segment
        """,
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def segment_category_spend(wh: Warehouse) -> pd.DataFrame:
    """Spend per RFM segment and category (the heatmap)."""
    return query(
        wh,
        """
        select c.rfm_segment, s.category, sum(s.amount) as spend
        from marts.customer_category_spend as s
        inner join marts.customers as c on c.customer_id = s.customer_id
        group by c.rfm_segment, s.category
        order by 1, 2
        """,
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def filter_options(wh: Warehouse) -> dict[str, list[str]]:
    """Choices for the audience builder: segments, categories, states, age bands."""
    segments = query(wh, "select rfm_segment from marts.rfm_segments order by sort_order")
    categories = query(wh, "select category_name from marts.product_categories order by sort_order")
    states = query(wh, "select distinct state from marts.customers where state is not null order by state")
    return {
        "segments": [str(v) for v in segments["rfm_segment"]],
        "categories": [str(v) for v in categories["category_name"]],
        "states": [str(v) for v in states["state"]],
        "age_bands": list(AGE_BANDS),
    }
