"""Data quality: last build's dbt results, stored failures, freshness, quarantine, identity, conservation."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from c360.app import artifacts as app_artifacts
from c360.app import quality as app_quality
from c360.app.pii import mask_frame, show_pii
from c360.app.ui import count, guarded, md_escape, warehouse

PROBLEM_STATUSES = ("warn", "fail", "error", "runtime error")


def build_results() -> None:
    """pass/warn/fail/error counts, per-model test results and failing-row samples."""
    st.subheader("Last dbt build")
    results, generated_at = app_artifacts.run_results()
    st.caption(f"`run_results.json` generated at {md_escape(generated_at)} UTC, {len(results)} nodes.")
    statuses = results["status"].value_counts()
    columns = st.columns(5)
    for column, status in zip(columns, ("success", "pass", "warn", "fail", "error"), strict=True):
        column.metric(status.capitalize(), count(int(statuses.get(status, 0))))
    tests = results[results["resource_type"] == "test"]
    if not tests.empty:
        by_model = tests.pivot_table(
            index="model", columns="status", values="unique_id", aggfunc="count", fill_value=0
        ).reset_index()
        st.markdown("**Tests by model**")
        st.dataframe(by_model, hide_index=True, height=250)
    chosen = st.multiselect("Show statuses", sorted(results["status"].unique()), key="dq_statuses")
    shown = results[results["status"].isin(chosen)] if chosen else results
    st.dataframe(
        shown[["resource_type", "name", "model", "status", "failures", "execution_time", "message"]],
        hide_index=True,
        height=260,
    )
    problems = tests[tests["status"].isin(PROBLEM_STATUSES)]
    if problems.empty:
        st.success("Every test passed in the last build.")
        return
    st.markdown("**Failing rows** (stored failures in schema `quality`)")
    names = {
        row["name"]: app_artifacts.stored_failure_table(row["relation_name"], row["name"])
        for row in problems.to_dict("records")
    }
    test = st.selectbox("Test", list(names), key="dq_test")
    if test:
        guarded(
            lambda: st.dataframe(
                mask_frame(app_quality.stored_failures(warehouse(), names[test]), show_pii()), hide_index=True
            )
        )


def freshness() -> None:
    """Source freshness from sources.json."""
    st.subheader("Source freshness")
    frame, generated_at = app_artifacts.source_freshness()
    if frame.empty:
        st.info("No `sources.json` yet: `make build` runs `dbt source freshness`.")
        return
    st.caption(f"Checked at {md_escape(generated_at)} UTC.")
    st.dataframe(frame, hide_index=True)


def quarantine() -> None:
    """Quarantined rows by source and reason."""
    st.subheader("Quarantine")
    counts = app_quality.quarantine_counts(warehouse())
    st.metric("Quarantined rows", count(int(counts["quarantined_rows"].sum()) if not counts.empty else 0))
    if counts.empty:
        st.success("No quarantined rows.")
        return
    figure = px.bar(
        counts,
        x="quarantined_rows",
        y="reason",
        color="source",
        orientation="h",
        labels={"quarantined_rows": "Rows", "reason": ""},
    )
    figure.update_layout(height=260, margin={"t": 10})
    st.plotly_chart(figure, width="stretch")


def listing(table: str, title: str, note: str) -> None:
    """Count and first rows of an identity-conflict / orphan table (PII masked)."""
    st.subheader(title)
    total, rows = app_quality.listing(warehouse(), table)
    st.caption(f"{total:,} rows. {note}")
    if total:
        st.dataframe(mask_frame(rows, show_pii()), hide_index=True, height=220)


def conservation() -> None:
    """raw = clean + quarantined + collapsed duplicates, per source."""
    st.subheader("Row conservation")
    frame = app_quality.row_conservation(warehouse())
    st.dataframe(frame, hide_index=True)
    if not frame.empty and not frame["is_balanced"].astype(bool).all():
        st.error("Some source rows are unaccounted for.")
    elif not frame.empty:
        st.success("Every raw row is accounted for.")


def render() -> None:
    """The page body: each section on its own, so one missing table does not hide the rest."""
    st.title("Data quality")
    warehouse()
    guarded(build_results)
    guarded(freshness)
    left, right = st.columns(2)
    with left:
        guarded(quarantine)
    with right:
        guarded(conservation)
    left, right = st.columns(2)
    with left:
        guarded(
            lambda: listing(
                "identity_conflicts",
                "Identity conflicts",
                "Several source records with the same contact id; each keeps its own customer_id.",
            )
        )
    with right:
        guarded(
            lambda: listing(
                "orphan_transaction_candidates",
                "Orphan transaction candidates",
                "Transactions with an unknown contact id and the customer it most likely belongs to.",
            )
        )


guarded(render)
