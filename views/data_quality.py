"""Data quality: headline, readable test results, a failing test's rows, quarantine and its dollars,
build history, freshness, row conservation, identity resolution, identity conflicts and orphans."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from c360 import config
from c360.app import artifacts as app_artifacts
from c360.app import identity as app_identity
from c360.app import quality as app_quality
from c360.app.pii import mask_frame, ref_key, show_pii
from c360.app.ui import count, guarded, md_escape, money, utc, warehouse

PROBLEM_STATUSES = ("warn", "fail", "error", "runtime error")
TEST_COLUMNS = {
    "title": st.column_config.TextColumn("Test", width="large"),
    "model": st.column_config.TextColumn("On"),
    "severity": st.column_config.TextColumn("Severity"),
    "status": st.column_config.TextColumn("Status"),
    "failures": st.column_config.NumberColumn("Failing rows", format="localized"),
    "description": st.column_config.TextColumn("What it checks", width="large"),
}


def headline(tests: pd.DataFrame) -> None:
    """Passed / warnings / failures (fail + error) / quarantined rows / dollars held, side by side."""
    statuses = tests["status"].value_counts()
    impact = app_quality.quarantine_impact(warehouse())
    columns = st.columns(5)
    columns[0].metric("Tests passed", count(int(statuses.get("pass", 0))))
    columns[1].metric("Warnings", count(int(statuses.get("warn", 0))))
    failed = sum(int(statuses.get(s, 0)) for s in ("fail", "error", "runtime error"))
    columns[2].metric("Failures", count(failed))
    columns[3].metric("Quarantined rows", count(int(impact["quarantined_rows"].sum())))
    columns[4].metric("Held in quarantine", money(float(impact["held_amount"].sum(min_count=1) or 0.0)))
    warned = int(statuses.get("warn", 0))
    if failed:
        # a warning box (st.error is kept for the page itself failing); the icon marks it as failed
        st.warning(
            f"{count(failed)} test(s) failed: the build did not meet its rules.", icon=":material/error:"
        )
    elif warned:
        st.warning(
            f"No test failed, but {count(warned)} warn-only test(s) found rows: those rows are quarantined "
            "or counted as duplicates (see their rows below)."
        )
    else:
        st.success("Every test passed in the last build.")


def build_results() -> None:
    """The headline, every test with its readable name, severity and the relation it is on."""
    st.subheader("Last dbt build")
    results, generated_at = app_artifacts.run_results()
    others = results[results["resource_type"] != "test"]["status"].value_counts()
    st.caption(
        f"`run_results.json` generated at {md_escape(utc(generated_at))}: {len(results)} nodes; "
        "models, seeds and snapshots " + md_escape(", ".join(f"{s} {n}" for s, n in others.items()))
    )
    tests = results[results["resource_type"] == "test"]
    if tests.empty:
        st.info("The last build ran no tests.")
        return
    headline(tests)
    chosen = st.multiselect("Show statuses", sorted(tests["status"].unique()), key="dq_statuses")
    shown = tests[tests["status"].isin(chosen)] if chosen else tests
    order = {"fail": 0, "error": 0, "runtime error": 0, "warn": 1}
    shown = shown.assign(_order=shown["status"].map(order).fillna(2)).sort_values(["_order", "title"])
    st.dataframe(shown[list(TEST_COLUMNS)], hide_index=True, height=260, column_config=TEST_COLUMNS)
    failing_rows(tests[tests["status"].isin(PROBLEM_STATUSES)])


def failing_rows(problems: pd.DataFrame) -> None:
    """Pick a test that did not pass and see the rows it flagged."""
    if problems.empty:
        return
    st.markdown("**Failing rows**")
    by_id = {row["unique_id"]: row for row in problems.to_dict("records")}
    picked = st.selectbox(
        "Test",
        list(by_id),
        format_func=lambda uid: f"{by_id[uid]['title']} ({by_id[uid]['status']})",
        key="dq_test",
    )
    if not picked:
        return
    test = by_id[picked]
    st.caption(
        md_escape(
            f"{test['description']} Severity {test['severity']}; on {test['model']}; dbt id {test['name']}."
        )
    )
    guarded(lambda: show_rows(test))


def show_rows(test: dict) -> None:
    """A source test's flagged source rows with their quarantine reason; else the stored failures."""
    wh = warehouse()
    relation = test.get("relation_name")
    stored = app_artifacts.stored_failure_table(relation, test["name"]) if relation else None
    reveal = show_pii()
    if test["model"] in app_quality.SOURCE_ROWS and test["column"]:
        total, rows = app_quality.source_failing_rows(
            wh, test["model"], test["column"], test["test_type"], stored, test.get("parent")
        )
        quarantine_table = app_quality.SOURCE_ROWS[test["model"]][0]
        shown = f", first {len(rows)} shown" if total > len(rows) else ""
        st.caption(
            md_escape(
                f"{total:,} source row(s) flagged{shown}; each with its source file and row and the "
                f"reason it got in quality.{quarantine_table}."
            )
        )
        st.dataframe(mask_frame(rows, reveal), hide_index=True, height=260)
        return
    if stored is None or stored not in app_quality.quality_tables(wh):
        st.info(
            "This test does not store its failing rows. Its rows: `dbt test --select "
            f"{test['name']} --store-failures` writes them to schema `quality`; quarantined source rows "
            "are in the Quarantine section below."
        )
        return
    st.caption(md_escape(f"Stored failures in quality.{stored} (first {app_quality.SAMPLE_ROWS} rows)."))
    st.dataframe(mask_frame(app_quality.stored_failures(wh, stored), reveal), hide_index=True)


def quarantine() -> None:
    """Quarantined rows and the dollars they hold, by source and reason."""
    st.subheader("Quarantine")
    impact = app_quality.quarantine_impact(warehouse())
    if impact.empty:
        st.success("No quarantined rows.")
        return
    unreadable = impact[impact["held_amount"].isna() & (impact["source"] == "transactions")]
    st.dataframe(
        impact,
        hide_index=True,
        column_config={
            "quarantined_rows": st.column_config.NumberColumn("Rows", format="localized"),
            "held_amount": st.column_config.NumberColumn("Held amount ($)", format="dollar"),
        },
    )
    if not unreadable.empty:
        st.caption(
            "No dollar amount for "
            + md_escape(", ".join(unreadable["reason"]))
            + ": the amount does not read as a number."
        )
    figure = px.bar(
        impact,
        x="quarantined_rows",
        y="reason",
        color="source",
        orientation="h",
        labels={"quarantined_rows": "Rows", "reason": ""},
    )
    figure.update_layout(height=260, margin={"t": 10})
    st.plotly_chart(figure, width="stretch")


def history() -> None:
    """Trends across builds from `build_history.jsonl` (written by every `make build`)."""
    st.subheader("Build history")
    builds, freshness, skipped = app_artifacts.build_history_frames()
    if builds.empty:
        st.info("No build history yet: every `make build` appends its summary (from now on).")
        return
    st.caption(
        f"{len(builds)} build(s) recorded" + (f"; {skipped} unreadable line(s) skipped" if skipped else "")
    )
    st.dataframe(builds.iloc[::-1], hide_index=True, height=200)
    if len(builds) > 1:
        trend = builds.melt(
            id_vars="finished_at", value_vars=["warnings", "failures", "quarantined_rows"], var_name="measure"
        )
        figure = px.line(
            trend,
            x="finished_at",
            y="value",
            color="measure",
            markers=True,
            labels={"finished_at": "", "value": ""},
        )
        figure.update_layout(height=260, margin={"t": 10})
        st.plotly_chart(figure, width="stretch")
    if not freshness.empty:
        st.caption("Source age at each build (hours)")
        st.dataframe(
            freshness.pivot_table(index="finished_at", columns="source", values="age_hours").iloc[::-1]
        )


def freshness() -> None:
    """Source freshness from sources.json."""
    st.subheader("Source freshness")
    frame, generated_at = app_artifacts.source_freshness()
    if frame.empty:
        st.info("No `sources.json` yet: `make build` runs `dbt source freshness`.")
        return
    st.caption(f"Checked at {md_escape(utc(generated_at))}.")
    frame = frame.assign(
        max_loaded_at=frame["max_loaded_at"].map(utc), snapshotted_at=frame["snapshotted_at"].map(utc)
    )
    st.dataframe(frame, hide_index=True)


def listing(table: str, title: str, note: str) -> None:
    """Count and first rows of an identity-conflict / orphan table (PII masked)."""
    st.subheader(title)
    total, rows = app_quality.listing(warehouse(), table)
    st.caption(f"{total:,} rows. {note}")
    if total:
        st.dataframe(
            mask_frame(rows, show_pii()),
            hide_index=True,
            height=220,
            column_config={
                name: st.column_config.TextColumn(width="large")
                for name in ("customer_id", "contact_id", "candidate_customer_id")
            },
        )


def conservation() -> None:
    """raw = clean + quarantined + collapsed duplicates, per source."""
    st.subheader("Row conservation")
    frame = app_quality.row_conservation(warehouse())
    st.dataframe(frame, hide_index=True)
    if not frame.empty and not frame["is_balanced"].astype(bool).all():
        st.error("Some source rows are unaccounted for.")
    elif not frame.empty:
        st.success("Every raw row is accounted for.")


def identity_scores(scoring: dict | None) -> None:
    """Precision and recall against the generator's truth, or why they are unknown."""
    if scoring is None:
        st.caption(
            "Precision and recall: unknown (the identity step wrote no `identity.scoring`; run `make build`)."
        )
        return
    if scoring["status"] != "scored":
        st.caption(f"Precision and recall: unknown. {md_escape(str(scoring['status']).capitalize())}.")
        return
    columns = st.columns(4)
    columns[0].metric("Pairwise precision", f"{scoring['precision']:.2%}")
    columns[1].metric("Pairwise recall", f"{scoring['recall']:.2%}")
    columns[2].metric("Merged pairs", count(int(scoring["found_pairs"])))
    columns[3].metric("True pairs", count(int(scoring["truth_pairs"])))
    st.caption(
        f"Against the generator's manifest: {count(int(scoring['correct_pairs']))} of the "
        f"{count(int(scoring['found_pairs']))} record pairs put in one person are the same person "
        f"(precision), of the {count(int(scoring['truth_pairs']))} true pairs (recall)."
    )


def identity_resolution() -> None:
    """People by number of records, precision/recall when the truth is known, pairs for review."""
    st.subheader("Identity resolution")
    wh = warehouse()
    sizes = app_identity.cluster_sizes(wh)
    people = int(sizes["people"].sum())
    merged = int(sizes.loc[sizes["records"] > 1, "people"].sum())
    st.caption(
        f"{count(people)} people; {count(merged)} of them have more than one source record "
        "(docs/identity.md)."
    )
    left, right = st.columns(2)
    left.dataframe(
        sizes,
        hide_index=True,
        column_config={
            "records": st.column_config.NumberColumn("Records per person"),
            "people": st.column_config.NumberColumn("People", format="localized"),
        },
    )
    figure = px.bar(sizes.astype({"records": "string"}), x="records", y="people", log_y=True,
                    labels={"records": "Records per person", "people": "People (log)"})  # fmt: skip
    figure.update_layout(height=220, margin={"t": 10})
    right.plotly_chart(figure, width="stretch")
    scoring = app_identity.run_scoring(wh)
    identity_scores(scoring)
    threshold, floor = config.identity_thresholds()
    if scoring is not None:
        threshold, floor = float(scoring["threshold"]), float(scoring["review_floor"])
    review = app_identity.review_pairs(wh, threshold)
    if review is None:
        st.info("`quality.identity_matches` is not built yet: run `make build`.")
        return
    below, held, rows = review
    st.markdown("**Near-threshold pairs for review**")
    shown = f"; the first {len(rows)} shown" if below > len(rows) else ""
    st.caption(
        f"{count(below)} pair(s) not merged with a match probability from {floor:.0%} up to below the "
        f"threshold {threshold:.0%}{shown}; {count(held)} pair(s) at or above it were held back because "
        "their birth dates (or emails) do not agree. Fields: " + app_identity.LEGEND + "."
    )
    if below:
        reveal = show_pii()
        st.dataframe(
            app_identity.shown_pairs(rows, reveal, "" if reveal else ref_key()).drop(columns=["is_match"]),
            hide_index=True,
            height=260,
            column_config={
                "match_probability": st.column_config.NumberColumn("Probability", format="%.3f"),
                "match_weight": st.column_config.NumberColumn("Weight", format="%.2f"),
            },
        )


def render() -> None:
    """The page body: each section on its own, so one missing table does not hide the rest."""
    st.title("Data quality")
    warehouse()
    guarded(build_results)
    left, right = st.columns(2)
    with left:
        guarded(quarantine)
    with right:
        guarded(conservation)
    guarded(identity_resolution)
    guarded(history)
    guarded(freshness)
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
