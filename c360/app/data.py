"""Cached queries behind the Overview, Customer profile and Segments pages (search: `c360.app.search`).

Metrics (spend, orders, customers ...) come from the semantic layer (`c360.app.metrics`);
this module holds row lookups and the Overview's reporting periods.

Every function takes the `Warehouse` (part of the cache key, with the DuckDB file's
mtime, so a rebuild is picked up) and the widget values as parameters; results are
cached for `TTL_SECONDS`. Everything is aggregated in SQL and row counts are limited,
so a warm page render stays well under a second at 100,000 customers.
User input reaches SQL only as bound `?` parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pandas as pd
import streamlit as st

from c360.warehouse import BUILD_HINT, TableMissing, Warehouse, query, table_exists

TTL_SECONDS = 60
AGE_BANDS = ("under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
ROLLING_PERIODS = MappingProxyType({"Last 30 days": 30, "Last 90 days": 90, "Last 365 days": 365})
CALENDAR_PERIODS = ("Month to date", "Quarter to date", "Year to date", "Last full month")
PERIODS = (*ROLLING_PERIODS, *CALENDAR_PERIODS)


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
@dataclass(frozen=True)
class Period:
    """A reporting period and the one it is compared with; all bounds are inclusive dates."""

    label: str
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date

    def covered_by(self, first_day: dt.date) -> bool:
        """True when data starts on or before the previous period: only then is a delta meaningful."""
        return first_day <= self.previous_start


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _month_end(day: dt.date) -> dt.date:
    return (_month_start(day) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def _months_back(day: dt.date, months: int) -> dt.date:
    """The first of the month `months` before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def _same_day(anchor: dt.date, start: dt.date, previous_start: dt.date) -> dt.date:
    """The day of the previous period as far into it (in months and days) as `anchor` is into `start`."""
    month = _months_back(previous_start, start.month - anchor.month - 12 * (anchor.year - start.year))
    return min(month.replace(day=1) + dt.timedelta(days=anchor.day - 1), _month_end(month))


def period_window(label: str, anchor: dt.date) -> Period:
    """The period called `label` ending at `anchor` (the data's latest day) and its comparison period.

    Rolling: the `n` days up to the anchor vs the `n` days before. To date: month, quarter or
    year start .. anchor vs the previous month/quarter/year up to the same
    day (clipped to that month's end, e.g. 29 February -> 28 February). Last full
    month: the latest complete calendar month (the anchor's own month when the anchor is its last
    day) vs the month before.
    """
    if label in ROLLING_PERIODS:
        days = ROLLING_PERIODS[label]
        start = anchor - dt.timedelta(days=days - 1)
        return Period(label, start, anchor, start - dt.timedelta(days=days), start - dt.timedelta(days=1))
    if label == "Last full month":
        end = anchor if anchor == _month_end(anchor) else _month_start(anchor) - dt.timedelta(days=1)
        start = _month_start(end)
        previous_start = _months_back(start, 1)
        return Period(label, start, end, previous_start, start - dt.timedelta(days=1))
    months = {"Month to date": 1, "Quarter to date": 3, "Year to date": 12}.get(label)
    if months is None:
        raise ValueError(f"unknown period {label!r}; choose from {', '.join(PERIODS)}")
    start = _month_start(anchor)
    if months == 3:
        start = start.replace(month=(anchor.month - 1) // 3 * 3 + 1)
    elif months == 12:
        start = start.replace(month=1)
    previous_start = _months_back(start, months)
    previous_end = _same_day(anchor, start, previous_start)
    return Period(label, start, anchor, previous_start, previous_end)


def is_partial_month(month: dt.date, first_day: dt.date, anchor: dt.date) -> bool:
    """True when the data covers only part of `month` (any day in it): it starts after the month's
    first day or ends (`anchor`, the latest day) before its last day."""
    start = _month_start(month)
    return (start == _month_start(anchor) and anchor < _month_end(anchor)) or (
        start == _month_start(first_day) and first_day > start
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def transaction_date_range(wh: Warehouse) -> tuple[dt.date, dt.date] | None:
    """The data's first and latest transaction dates (periods are anchored at the latest, not at today)."""
    frame = query(
        wh, "select min(transaction_date) as first, max(transaction_date) as latest from marts.transactions"
    )
    first, latest = frame["first"].iloc[0], frame["latest"].iloc[0]
    if pd.isna(first) or pd.isna(latest):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(latest).date()


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
def customer_transactions_page(
    wh: Warehouse, customer_id: str, page: int, size: int
) -> tuple[int, pd.DataFrame]:
    """The customer's number of transactions and one page (1-based) of them, newest first."""
    total = query(wh, "select count(*) as n from marts.transactions where customer_id = ?", (customer_id,))
    return int(total["n"].iloc[0]), query(
        wh,
        """
        select transaction_id, transaction_at, amount, item_count, category
        from marts.transactions
        where customer_id = ?
        order by transaction_at desc, transaction_id
        limit ? offset ?
        """,
        (customer_id, int(size), (max(int(page), 1) - 1) * int(size)),
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
def customer_segment_history(wh: Warehouse, customer_id: str) -> pd.DataFrame | None:
    """The customer's RFM segment over time: one row per change, from marts.customer_monthly_states.

    Each row is the first month end at which the customer was in that segment (`since`), with
    the recency and spend to date of that month end; the last row is the current segment. None
    while the state model is not built.
    """
    if not table_exists(wh, "marts", "customer_monthly_states"):
        return None
    months = query(
        wh,
        """
        select month_end, is_partial_month, rfm_segment, recency_days, spend_to_date
        from marts.customer_monthly_states
        where customer_id = ?
        order by month_start
        """,
        (customer_id,),
    )
    changed = months["rfm_segment"].ne(months["rfm_segment"].shift())
    return months[changed].rename(columns={"month_end": "since"}).reset_index(drop=True)


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
def segment_meanings(wh: Warehouse) -> pd.DataFrame:
    """The RFM segments' rows (seed `rfm_segments`): name, description, recommended action, sort order."""
    return query(
        wh,
        """
        select rfm_segment, description, recommended_action, sort_order
        from marts.rfm_segments
        order by sort_order, rfm_segment
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
