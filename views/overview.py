"""Overview: headline KPIs with period-over-period deltas, spend trend, data freshness."""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType

import plotly.express as px
import streamlit as st

from c360.app import artifacts as app_artifacts
from c360.app import data as app_data
from c360.app import metrics as app_metrics
from c360.app.charts import legend_below, top_with_other
from c360.app.ui import category_colours, count, guarded, money, money_short, pct_change, utc, warehouse

STATUS_COLOURS = MappingProxyType({"pass": "green", "warn": "orange", "error": "red", "runtime error": "red"})


def freshness_badge() -> None:
    """Source freshness from sources.json, else the marts' latest loaded_at."""
    freshness, generated_at = app_artifacts.source_freshness()
    if not freshness.empty:
        worst = next((s for s in ("runtime error", "error", "warn") if s in set(freshness["status"])), "pass")
        latest = freshness["max_loaded_at"].dropna().max()
        st.badge(
            f"Source freshness: {worst} · latest load {utc(latest)} · checked {utc(generated_at)}",
            color=STATUS_COLOURS.get(worst, "gray"),
            icon=":material/schedule:",
        )
        return
    loaded_at = app_data.max_loaded_at(warehouse())
    st.badge(
        f"Latest load {utc(loaded_at)} (no sources.json yet: `make build` checks freshness)",
        color="gray",
        icon=":material/schedule:",
    )


def comparison_note(period: app_data.Period, first_day: dt.date) -> str:
    """What the deltas compare, or why there are none (the previous period is not fully in the data)."""
    previous = f"{period.previous_start} to {period.previous_end}"
    if period.covered_by(first_day):
        return f"Changes compare with {previous}."
    return (
        f"No change shown: the comparison period {previous} starts before the data's first day "
        f"{first_day}, so it is not fully covered."
    )


def render() -> None:
    """The page body."""
    st.title("Overview")
    wh = warehouse()
    span = app_data.transaction_date_range(wh)
    if span is None:
        st.info("`marts.transactions` is empty. Load data with `make data`, then run `make build`.")
        return
    first_day, anchor = span
    freshness_badge()
    label = st.radio("Period", list(app_data.PERIODS), index=1, horizontal=True, key="period")
    period = app_data.period_window(label, anchor)
    manifest = app_metrics.manifest_version()
    kpis = app_metrics.period_kpis(manifest, wh, period)
    current, previous = kpis.loc["current"], kpis.loc["previous"]
    compare = period.covered_by(first_day)

    def delta(column: str) -> str | None:
        return pct_change(current[column], previous[column]) if compare else None

    st.caption(
        f"{label}: {period.start} to {period.end} (the latest transaction date is {anchor}). "
        + comparison_note(period, first_day)
    )
    columns = st.columns(4)
    spend = current["total_spend"]
    columns[0].metric("Spend", money_short(spend), delta("total_spend"), help=f"Exactly {money(spend)}")
    columns[1].metric("Orders", count(current["order_count"]), delta("order_count"))
    columns[2].metric(
        "Average order value", money(current["average_order_value"]), delta("average_order_value")
    )
    columns[3].metric("Active customers", count(current["active_customers"]), delta("active_customers"))
    totals = app_metrics.customer_totals(manifest, wh)
    st.caption(
        f"{totals['customers']:,} customers in total, {totals['buyers']:,} with at least one purchase."
    )

    st.subheader("Spend by month and category")
    since = min(period.start, anchor - dt.timedelta(days=365)).replace(day=1)
    trend = app_metrics.monthly_spend_by_category(manifest, wh, since, anchor)
    if trend.empty:
        st.info("No transactions in this window.")
        return
    trend = top_with_other(trend, "category", "spend")  # top 8 categories + "Other"
    trend = trend.assign(
        completeness=[
            "partial" if app_data.is_partial_month(m, first_day, anchor) else "complete"
            for m in trend["month"]
        ]
    )
    figure = px.bar(
        trend,
        x="month",
        y="spend",
        color="category",
        pattern_shape="completeness",
        pattern_shape_map={"complete": "", "partial": "/"},
        color_discrete_map=category_colours(app_data.filter_options(wh)["categories"]),
        labels={"month": "Month", "spend": "Spend ($)", "category": "Category", "completeness": "Month"},
    )
    legend_below(figure, trend["category"].nunique() + 2)  # + the two month patterns
    st.plotly_chart(figure, width="stretch")
    partial = sorted(set(trend.loc[trend["completeness"] == "partial", "month"]))
    if partial:
        names = " and ".join(f"{m:%B %Y}" for m in partial)
        st.caption(
            f"{names} {'is' if len(partial) == 1 else 'are'} incomplete (data from {first_day} to "
            f"{anchor}): hatched, and left out of the calendar comparisons except like-for-like "
            "month to date."
        )


guarded(render)
