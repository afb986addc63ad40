"""Recommendations: per-customer next best categories, category affinity, offline evaluation."""

from __future__ import annotations

from functools import partial

import plotly.express as px
import streamlit as st

from c360.app import audiences as aud
from c360.app import data as app_data
from c360.app import quality as app_quality
from c360.app import search as app_search
from c360.app.pii import match_label, ref_key, show_pii
from c360.app.ui import guarded, md_escape, money, warehouse


def customer_lookup() -> None:
    """Search a customer and show their top categories with scores and reasons."""
    st.subheader("Next best categories per customer")
    wh = warehouse()
    text = st.text_input("Find a customer", key="recs_search", placeholder="Name, email or customer id")
    if not text.strip():
        return
    reveal = show_pii()
    matches = app_search.search_customers(wh, text, substring=reveal)
    if matches.empty:
        st.warning(f"No customer matches “{md_escape(text.strip())}”.")
        return
    key = "" if reveal else ref_key()
    labels = {row["customer_id"]: match_label(row, reveal, key) for row in matches.to_dict("records")}
    chosen = st.selectbox("Matches", list(labels), format_func=labels.__getitem__, key="recs_pick")
    recs = app_data.customer_recommendations(wh, chosen) if chosen else None
    if recs is not None and not recs.empty:
        st.dataframe(
            recs,
            hide_index=True,
            column_config={
                "score": st.column_config.ProgressColumn(
                    "Score", min_value=0.0, max_value=float(max(recs["score"].max(), 1e-9)), format="%.3f"
                )
            },
        )
    elif chosen:
        st.caption("No recommendation for this customer.")


def render() -> None:
    """The page body."""
    st.title("Recommendations")
    wh = warehouse()
    available = app_quality.recommender_tables(wh)
    missing = [name for name, ok in available.items() if not ok]
    if missing:
        st.info(
            "The recommender tables are not built yet (missing: "
            + ", ".join(f"`marts.{name}`" for name in missing)
            + "). Run `make build` to build the recommendations, "
            "then `make eval-recs` for the offline evaluation."
        )
    if available["next_best_category_evaluation"]:
        evaluation_block()
    if available["category_affinity"]:
        affinity_block()
    if available["next_best_category"]:
        left, right = st.columns(2)
        with left:
            customer_lookup()
        with right:
            spread_block()


def evaluation_block() -> None:
    """Hit rate@k of the recommender against its baselines (offline backtest), the served method
    and why, and where the model loses."""
    st.subheader("Offline evaluation vs baselines")
    evaluation = app_quality.recommender_evaluation(warehouse())
    if evaluation.empty:
        st.info("The evaluation table is empty: run `make eval-recs`.")
        return
    summary, losses = app_quality.served_verdict(evaluation)
    st.info(md_escape(summary))
    for loss in losses:
        st.warning(md_escape(loss))
    left, right = st.columns([3, 2])
    figure = px.bar(
        evaluation[evaluation["method"] != "served"],
        x="k",
        y="hit_rate",
        color="method",
        barmode="group",
        labels={"k": "k", "hit_rate": "Hit rate@k", "method": ""},
    )
    figure.update_layout(height=300, margin={"t": 10})
    left.plotly_chart(figure, width="stretch")
    right.dataframe(
        evaluation,
        hide_index=True,
        column_config={
            "hit_rate": st.column_config.NumberColumn("Hit rate", format="percent"),
            "ndcg": st.column_config.NumberColumn("NDCG", format="percent"),
            "validation_hit_rate": st.column_config.NumberColumn("Validation hit rate", format="percent"),
            "validation_ndcg": st.column_config.NumberColumn("Validation NDCG", format="percent"),
            "coverage": st.column_config.NumberColumn("Coverage", format="percent"),
            "customers_evaluated": st.column_config.NumberColumn("Customers", format="localized"),
        },
    )


def spread_block() -> None:
    """How the rank-1 picks spread over the categories."""
    spread = app_quality.top_recommendations(warehouse())
    if spread.empty:
        return
    figure = px.bar(
        spread,
        x="category",
        y="customers",
        color="average_score",
        labels={"category": "", "customers": "Customers (rank 1)", "average_score": "Avg score"},
        title="Top recommendation per customer",
    )
    figure.update_layout(height=360)
    st.plotly_chart(figure, width="stretch")
    top_pick_audience(list(spread["category"]))


def top_pick_audience(categories: list[str]) -> None:
    """Customers whose top pick is X, as an audience: its size, a link to the Audiences page, the CSV."""
    if not categories:
        return
    picked = st.selectbox("Customers whose top pick is", categories, key="recs_top_pick")
    if not picked:
        return
    wh = warehouse()
    audience = aud.Audience((aud.Group((aud.Condition("top_pick", "in", (picked,)),)),))
    size = aud.audience_size(wh, audience)
    text = f"{size['customers']:,} customers, {money(size['spend'])} lifetime spend ({audience.describe()})"
    st.caption(md_escape(text))
    left, right = st.columns(2)
    left.page_link(
        "views/audiences.py",
        label="Open as an audience",
        icon=":material/groups:",
        query_params={"audience_def": aud.encode(audience)},
    )
    right.download_button(
        "Download top-pick audience CSV",
        data=partial(aud.audience_csv, wh, audience, show_pii()),
        file_name=f"top_pick_{picked.lower().replace(' ', '_')}.csv",
        mime="text/csv",
        icon=":material/download:",
        disabled=size["customers"] == 0,
        on_click="ignore",
    )


def affinity_block() -> None:
    """Category-to-category affinity heatmap."""
    affinity = app_quality.category_affinity(warehouse())
    if affinity.empty:
        return
    pivot = affinity.pivot_table(index="from_category", columns="to_category", values="score")
    figure = px.imshow(
        pivot,
        aspect="auto",
        color_continuous_scale="Purples",
        text_auto=".2f",
        labels={"x": "then buys", "y": "bought", "color": "Affinity"},
        title="Category-to-category affinity",
    )
    figure.update_layout(height=460)
    st.plotly_chart(figure, width="stretch")


guarded(render)
