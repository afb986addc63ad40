"""Cached queries on an audience: size and spend, overlap of two, members, memberships of one customer.

"Within N days" counts back from the data's latest transaction date (`latest_date`), not today.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from c360.app.audiences.conditions import Audience
from c360.app.data import filter_options, transaction_date_range
from c360.warehouse import Warehouse, query

TTL_SECONDS = 60


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def latest_date(wh: Warehouse) -> dt.date | None:
    """The data's latest transaction date: "within N days" counts back from it (None when empty)."""
    span = transaction_date_range(wh)
    return None if span is None else span[1]


def choice_options(wh: Warehouse) -> dict[str, list[str]]:
    """The values offered per choice field, and the categories of behaviour conditions."""
    base = filter_options(wh)
    genders = query(
        wh, "select distinct gender from marts.customers where gender is not null order by gender"
    )
    return {
        "rfm_segment": base["segments"],
        "state": base["states"],
        "age_band": base["age_bands"],
        "gender": [str(v) for v in genders["gender"]],
        "category": base["categories"],
        "top_pick": base["categories"],
    }


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def audience_size(wh: Warehouse, audience: Audience) -> dict[str, float]:
    """How many customers match, and their total spend."""
    where, params = audience.where(latest_date(wh))
    frame = query(
        wh,
        f"select count(*) as customers, coalesce(sum(c.total_spend), 0) as spend "
        f"from marts.customers as c where {where}",
        params,
    )
    return {"customers": int(frame["customers"].iloc[0]), "spend": float(frame["spend"].iloc[0])}


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def audience_overlap(wh: Warehouse, first: Audience, second: Audience) -> dict[str, int]:
    """Customers in both audiences, only in the first, only in the second."""
    anchor = latest_date(wh)
    a, a_params = first.where(anchor)
    b, b_params = second.where(anchor)
    frame = query(
        wh,
        f"""
        select
            count(*) filter (where ({a}) and ({b})) as both_audiences,
            count(*) filter (where ({a}) and not ({b})) as only_first,
            count(*) filter (where ({b}) and not ({a})) as only_second
        from marts.customers as c
        """,
        [*a_params, *b_params, *a_params, *b_params, *b_params, *a_params],
    )
    row = frame.iloc[0]
    return {
        "both": int(row["both_audiences"]),
        "first": int(row["only_first"]),
        "second": int(row["only_second"]),
    }


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def audience_members(wh: Warehouse, audience: Audience) -> pd.DataFrame:
    """The matching customers, ordered by customer id (with their email, for hashing on export)."""
    where, params = audience.where(latest_date(wh))
    return query(
        wh,
        f"""
        select c.customer_id, c.full_name, c.email, c.rfm_segment, c.age_band, c.gender, c.state,
            c.order_count, c.total_spend, c.days_since_last_purchase
        from marts.customers as c
        where {where}
        order by c.customer_id
        """,
        params,
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def memberships(wh: Warehouse, customer_id: str, audiences: tuple[tuple[str, Audience], ...]) -> list[str]:
    """The names of the (name, audience) pairs whose audience holds `customer_id`, in the given order."""
    if not audiences:
        return []
    anchor = latest_date(wh)
    columns, params = [], []
    for i, (_, audience) in enumerate(audiences):
        where, values = audience.where(anchor)
        columns.append(f"count(*) filter (where {where}) as a{i}")
        params.extend(values)
    frame = query(
        wh,
        f"select {', '.join(columns)} from marts.customers as c where c.customer_id = ?",
        [*params, customer_id],
    )
    return [name for i, (name, _) in enumerate(audiences) if int(frame[f"a{i}"].iloc[0]) > 0]
