"""Segments: RFM segment sizes, spend and recency, segment x category heatmap (audiences: own page)."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from c360.app import data as app_data
from c360.app import metrics as app_metrics
from c360.app.charts import heatmap_height
from c360.app.ui import guarded, label_positions, recency_text, warehouse


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
    st.caption("Segment sizes, spend and recency are each customer's segment as of the last build.")
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
        bought = summary.dropna(subset=["average_recency_days"])
        figure = px.scatter(
            bought,
            x="average_recency_days",
            y="average_spend",
            size="customers",
            color="rfm_segment",
            text="rfm_segment",
            labels={"average_recency_days": "Avg days since last purchase", "average_spend": "Avg spend ($)"},
            title="Spend and recency per segment (bubble = customers)",
        )
        # one trace per segment (colour): each gets its own label position; labels may leave the axes
        positions = dict(
            zip(bought["rfm_segment"], label_positions(bought["average_recency_days"]), strict=True)
        )
        figure.for_each_trace(
            lambda t: t.update(textposition=positions.get(t.name, "top center"), cliponaxis=False)
        )
        figure.update_layout(showlegend=False, margin={"t": 60, "b": 40, "l": 40, "r": 40})
        st.plotly_chart(figure, width="stretch")
    shown = summary.drop(columns=["sort_order"])
    shown["average_recency_days"] = shown["average_recency_days"].map(recency_text)
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "rfm_segment": st.column_config.TextColumn("Segment"),
            "customers": st.column_config.NumberColumn("Customers", format="localized"),
            "total_spend": st.column_config.NumberColumn("Total spend", format="dollar"),
            "average_spend": st.column_config.NumberColumn("Average spend", format="dollar"),
            "average_recency_days": st.column_config.TextColumn("Avg recency (days)"),
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
        figure.update_layout(height=heatmap_height(len(pivot.index)))
        st.plotly_chart(figure, width="stretch")


def segment_trend_chart() -> None:
    """Customers per segment at each month end, in the segment they had then."""
    trend = app_metrics.segment_trend(app_metrics.manifest_version(), warehouse())
    if not trend.empty:
        figure = px.line(
            trend,
            x="month",
            y="customers",
            color="rfm_segment",
            markers=True,
            labels={"month": "Month end", "customers": "Customers", "rfm_segment": "Segment"},
            title="Customers per segment at each month end (the segment they had then)",
        )
        st.plotly_chart(figure, width="stretch")
        st.caption(
            "Each month is scored among the customers who had purchased by its end "
            "(`customers_at_period_end` by `customer_state__rfm_segment`); the latest month is "
            "taken at the data's last day."
        )


def render() -> None:
    """The page body."""
    st.title("Segments")
    guarded(segment_overview)  # a missing semantic manifest stops only the metrics, not the link below
    guarded(segment_trend_chart)  # a warehouse built before marts.customer_monthly_states: a message
    st.page_link(
        "views/audiences.py",
        label="Build, save and export audiences on the Audiences page",
        icon=":material/groups:",
    )


guarded(render)
