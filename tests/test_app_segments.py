"""Segments, audience export, data quality, recommendations and DuckDB locking, with AppTest.

Numbers on the pages are compared with independent SQL over the same contract-shaped
DuckDB warehouse.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import streamlit as st
from app_store import write_artifacts, write_duckdb
from test_app_helpers import (
    PAGES,
    dollars,
    frame_with,
    infos,
    metric,
    open_page,
    sql,
    texts,
    unescape_markdown,
)
from test_app_support import demo_frames

# ---------- segments ----------


def test_segment_table_and_heatmap_equal_pandas(demo_db: Path, use_db) -> None:
    use_db(demo_db, metrics=True)
    at = open_page(PAGES[2])
    with duckdb.connect(str(demo_db), read_only=True) as con:
        customers = con.execute(
            "select rfm_segment, total_spend, days_since_last_purchase from marts.customers"
        ).df()
        lines = con.execute(
            "select c.rfm_segment, t.category, t.amount from marts.transactions t "
            "join marts.customers c using (customer_id)"
        ).df()
    expected = customers.groupby("rfm_segment").agg(
        customers=("total_spend", "size"),
        total_spend=("total_spend", "sum"),
        average_spend=("total_spend", "mean"),
        average_recency_days=("days_since_last_purchase", "mean"),
    )
    shown = at.dataframe[0].value.set_index("rfm_segment")
    assert sorted(shown.index) == sorted(expected.index)
    recency = expected.pop("average_recency_days")
    assert shown["average_recency_days"].to_dict() == {  # rounded days; a segment without purchases in words
        segment: "no purchase yet" if pd.isna(days) else f"{days:,.0f}" for segment, days in recency.items()
    }
    for column in expected.columns:
        pd.testing.assert_series_equal(
            shown[column].astype(float).sort_index(),
            expected[column].astype(float).sort_index(),
            check_names=False,
        )
    assert "each customer's segment as of the last build" in texts(at)
    (heat,) = [c for c in at.get("plotly_chart") if "Spend by segment and category" in c.proto.spec]
    figure = json.loads(heat.proto.spec)["data"][0]
    z = figure["z"]  # plotly ships arrays as base64 ("bdata") with dtype and shape
    grid = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(
        [int(n) for n in z["shape"].split(",")]
    )
    cells = {(y, x): grid[i, j] for i, y in enumerate(figure["y"]) for j, x in enumerate(figure["x"])}
    totals = lines.groupby(["rfm_segment", "category"])["amount"].sum()
    assert len(cells) >= len(totals)
    for (segment, category), spend in totals.items():
        assert abs(cells[(segment, category)] - spend) < 1e-6


def test_segments_page_points_to_the_audiences_page(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    at = open_page(PAGES[2])
    links = [element for element in at.get("page_link") if "Audiences page" in element.proto.label]
    assert links and links[0].proto.page.endswith("audiences")
    assert not [m for m in at.metric if m.label == "Audience size"]


# ---------- data quality and recommendations ----------


def test_data_quality_reads_the_build_artifacts(demo_db: Path, use_db) -> None:
    counts = write_artifacts(use_db(demo_db))
    at = open_page(PAGES[3])
    assert metric(at, "Tests passed") == str(counts["pass"])
    assert metric(at, "Warnings") == str(counts["warn"])
    assert metric(at, "Failures") == str(counts["fail"])  # not "Fail 0" beside warnings
    assert any("1 test(s) failed" in w.value for w in at.warning)
    tests = [df.value for df in at.dataframe if "severity" in df.value.columns][0]
    assert tests.set_index("title").loc["Accepted values customers gender", "model"] == "customers"
    at.selectbox(key="dq_test").set_value("test.c360.accepted_values_customers_gender.3c").run()
    assert any(list(df.value.columns) == ["value_field", "n_records"] for df in at.dataframe)
    at.selectbox(key="dq_test").set_value("test.c360.relationships_transactions_customer_id.4d").run()
    assert "does not store its failing rows" in infos(at)  # and says where its rows are
    (quarantined,) = sql(
        demo_db,
        "select (select count(*) from quality.quarantined_contacts) + "
        "(select count(*) from quality.quarantined_transactions)",
    )[0]
    assert metric(at, "Quarantined rows") == f"{quarantined:,}"
    amounts = pd.to_numeric(
        pd.Series([a for (a,) in sql(demo_db, "select amount from quality.quarantined_transactions")])
        .astype("string")
        .str.strip(),
        errors="coerce",
    )
    assert metric(at, "Held in quarantine") == dollars(float(amounts.sum()))
    (conflicts,) = sql(demo_db, "select count(*) from quality.identity_conflicts")[0]
    assert f"{conflicts:,} rows." in texts(at)
    assert "Every raw row is accounted for." in texts(at)
    assert "No build history yet" in infos(at)


def test_recommendations_empty_state_names_the_commands(tmp_path: Path, use_db) -> None:
    path = tmp_path / "norecs.duckdb"
    write_duckdb(path, demo_frames(customers=50, with_recs=False))
    use_db(path)
    at = open_page(PAGES[4])
    assert "make build" in infos(at) and "make eval-recs" in infos(at)


def test_recommendations_show_evaluation(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    at = open_page(PAGES[4])
    table = frame_with(at, "hit_rate")
    expected = sql(demo_db, "select max(hit_rate) from marts.next_best_category_evaluation")[0][0]
    assert table["hit_rate"].max() == pytest.approx(expected)


def test_recommendations_say_which_method_is_served_why_and_where_the_model_loses(
    demo_db: Path, use_db
) -> None:
    use_db(demo_db)
    at = open_page(PAGES[4])
    served, ndcg = sql(
        demo_db,
        "select served_method, validation_ndcg from marts.next_best_category_evaluation"
        " where method = 'served' and k = 3",
    )[0]
    info = unescape_markdown(infos(at))
    assert f"Serving: {served}." in info
    assert "validation NDCG@3" in info and f"{served} {ndcg:.1%}" in info
    assert "2024-08-01 up to 2024-10-19" in info
    assert "The model is not served" not in info
    # the model loses where its test hit rate is below the best baseline's, and only there
    rates = dict(
        ((method, k), rate)
        for method, k, rate in sql(
            demo_db, "select method, k, hit_rate from marts.next_best_category_evaluation"
        )
    )
    warnings = " ".join(unescape_markdown(str(w.value)) for w in at.warning)
    for k in (1, 3):
        best = max(rates[("cohort", k)], rates[("popularity", k)])
        loses = rates[("model", k)] < best
        assert (f"at k = {k} on the test window" in warnings) == loses
        if loses:
            assert f"{rates[('model', k)]:.1%} vs {best:.1%}" in warnings
    assert "loses" in warnings  # the demo data has a loss at k = 1


def test_recommendations_explain_a_served_baseline(tmp_path: Path, use_db) -> None:
    frames = demo_frames(customers=40)
    evaluation = frames["marts.next_best_category_evaluation"]
    evaluation["served_method"] = "popularity"
    evaluation.loc[evaluation["method"] == "popularity", "validation_ndcg"] = 0.9
    path = tmp_path / "baseline.duckdb"
    write_duckdb(path, frames)
    use_db(path)
    at = open_page(PAGES[4])
    info = unescape_markdown(infos(at))
    assert "Serving: popularity." in info and "popularity 90.0%" in info
    assert "The model is not served: it scored below the popularity baseline" in info


def test_recommendations_name_the_oracle_ceiling_and_never_rank_it_on_validation() -> None:
    from c360.app import quality as app_quality

    evaluation = demo_frames(customers=40)["marts.next_best_category_evaluation"]
    oracle = pd.DataFrame(
        {"method": ["oracle"] * 2, "k": [1, 3], "hit_rate": [0.31, 0.79], "validation_ndcg": [None, None]}
    )
    oracle[["validation_cutoff_date", "cutoff_date", "served_method"]] = (
        evaluation[["validation_cutoff_date", "cutoff_date", "served_method"]].iloc[:2].to_numpy()
    )
    summary, losses = app_quality.served_verdict(pd.concat([evaluation, oracle], ignore_index=True))
    served = evaluation[(evaluation["method"] == "served") & (evaluation["k"] == 3)].iloc[0]
    assert f"test hit rate@3 79.0%, served {served['hit_rate']:.1%}" in summary
    assert "oracle" not in summary.split("Ceiling")[0] and "nan" not in summary
    assert not any("oracle" in line for line in losses)
    assert "Ceiling" not in app_quality.served_verdict(evaluation)[0]  # own data: no oracle row


# ---------- the app never holds or blocks the DuckDB file ----------


def test_app_does_not_hold_the_file_and_reports_a_running_build(tmp_path: Path, use_db) -> None:
    path = tmp_path / "c360.duckdb"
    write_duckdb(path, demo_frames(customers=40))
    use_db(path)
    open_page(PAGES[2])
    writer = (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
        "c.execute('create table marts.x as select 1 as a'); print('locked', flush=True); time.sleep(20)"
    )
    with subprocess.Popen(
        [sys.executable, "-c", writer, str(path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
            st.cache_data.clear()
            at = open_page(PAGES[0])
            assert any("being rebuilt" in i.value for i in at.info)
        finally:
            proc.kill()
