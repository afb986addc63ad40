"""Segments: RFM segment sizes, spend and recency, segment x category heatmap, audience builder."""

from __future__ import annotations

from functools import partial

import plotly.express as px
import streamlit as st

from c360.app import data as app_data
from c360.app import metrics as app_metrics
from c360.app.pii import show_pii
from c360.app.ui import count, guarded, money, warehouse

ANY = "Any category"


def segment_overview() -> None:
    """Sizes, spend and recency per segment, and the heatmap."""
    wh = warehouse()
    if app_data.customer_counts(wh)["customers"] == 0:
        st.info("`marts.customers` is empty. Load data with `make data`, then run `make build`.")
        return
    manifest = app_metrics.manifest_version()
    meanings = app_data.segment_meanings(wh)
    summary = app_metrics.segment_metrics(manifest, wh)
    summary = summary.merge(meanings, on="rfm_segment", how="left").sort_values(
        ["sort_order", "rfm_segment"], na_position="last", kind="stable"
    )
    st.caption(
        "Segments are each customer's segment as of the last build. The warehouse keeps no history "
        "of customers' segments, so there is no segment trend over past months: one computed from "
        "today's segments would misstate them."
    )
    left, right = st.columns(2)
    with left:
        figure = px.bar(
            summary,
            x="rfm_segment",
            y="customers",
            labels={"rfm_segment": "", "customers": "Customers"},
            title="Customers per segment",
        )
        st.plotly_chart(figure, width="stretch")
    with right:
        figure = px.scatter(
            summary.dropna(subset=["average_recency_days"]),
            x="average_recency_days",
            y="average_spend",
            size="customers",
            color="rfm_segment",
            text="rfm_segment",
            labels={"average_recency_days": "Avg days since last purchase", "average_spend": "Avg spend ($)"},
            title="Spend and recency per segment (bubble = customers)",
        )
        figure.update_traces(textposition="top center")
        figure.update_layout(showlegend=False)
        st.plotly_chart(figure, width="stretch")
    st.dataframe(
        summary.drop(columns=["sort_order"]),
        hide_index=True,
        column_config={
            "rfm_segment": st.column_config.TextColumn("Segment"),
            "customers": st.column_config.NumberColumn("Customers", format="localized"),
            "total_spend": st.column_config.NumberColumn("Total spend", format="dollar"),
            "average_spend": st.column_config.NumberColumn("Average spend", format="dollar"),
            "average_recency_days": st.column_config.NumberColumn("Avg recency (days)", format="%.0f"),
            "description": st.column_config.TextColumn("Meaning", width="large"),
            "recommended_action": st.column_config.TextColumn("Recommended action", width="medium"),
        },
    )
    heat = app_metrics.segment_category_spend(manifest, wh)
    if not heat.empty:
        pivot = heat.pivot_table(index="rfm_segment", columns="category", values="spend", fill_value=0)
        pivot = pivot.reindex([s for s in summary["rfm_segment"] if s in pivot.index])
        figure = px.imshow(
            pivot,
            aspect="auto",
            color_continuous_scale="Blues",
            text_auto=".2s",
            labels={"x": "", "y": "", "color": "Spend ($)"},
            title="Spend by segment and category",
        )
        st.plotly_chart(figure, width="stretch")


def audience_builder() -> None:
    """Filters -> live audience size -> CSV export with hashed ids (raw ids only with C360_SHOW_PII=1)."""
    wh = warehouse()
    options = app_data.filter_options(wh)
    st.subheader("Audience builder")
    first, second, third = st.columns(3)
    segments = first.multiselect("RFM segment", options["segments"], key="aud_segments")
    age_bands = first.multiselect("Age band", options["age_bands"], key="aud_age_bands")
    category = second.selectbox("Category", [ANY, *options["categories"]], key="aud_category")
    min_spend = second.number_input(
        "Minimum spend in that category ($)",
        min_value=0.0,
        value=0.0,
        step=10.0,
        key="aud_min_spend",
        disabled=category == ANY,
    )
    max_recency = third.number_input(
        "Last purchase at most N days ago",
        min_value=0,
        value=None,
        step=7,
        key="aud_max_recency",
        placeholder="any",
    )
    states = third.multiselect("State", options["states"], key="aud_states")
    audience = app_data.AudienceFilter(
        segments=tuple(segments),
        category=None if category == ANY else category,
        min_category_spend=float(min_spend or 0.0),
        max_recency_days=None if max_recency is None else int(max_recency),
        age_bands=tuple(age_bands),
        states=tuple(states),
    )
    size = app_data.audience_size(wh, audience)
    left, right = st.columns(2)
    left.metric("Audience size", count(size["customers"]))
    right.metric("Audience spend", money(size["spend"]))
    reveal = show_pii()
    st.download_button(
        "Download audience CSV",
        data=partial(app_data.audience_csv, wh, audience, reveal),  # built only when clicked
        file_name="audience.csv",
        mime="text/csv",
        icon=":material/download:",
        disabled=size["customers"] == 0,
        on_click="ignore",
        help="customer_key = sha256(customer_id)"
        + ("; raw ids included (C360_SHOW_PII=1)" if reveal else ""),
    )


def render() -> None:
    """The page body."""
    st.title("Segments")
    guarded(segment_overview)  # a missing semantic manifest stops only the metrics, not the audience builder
    audience_builder()


guarded(render)
