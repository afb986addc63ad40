"""Segments, audience export, data quality, recommendations and DuckDB locking, with AppTest.

Numbers on the pages are compared with independent SQL over the same contract-shaped
DuckDB warehouse.
"""

from __future__ import annotations

import base64
import hashlib
import io
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
from test_app_helpers import PAGES, dollars, frame_with, infos, metric, open_page, sql, texts
from test_app_support import demo_frames

from c360.app import data as app_data
from c360.app.ui import warehouse as current_warehouse

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
    for column in expected.columns:
        pd.testing.assert_series_equal(
            shown[column].astype(float).sort_index(),
            expected[column].astype(float).sort_index(),
            check_names=False,
        )
    assert "no history of customers' segments, so there is no segment trend" in texts(at)
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


def test_audience_size_follows_the_filters(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    at = open_page(PAGES[2])
    assert metric(at, "Audience size") == f"{sql(demo_db, 'select count(*) from marts.customers')[0][0]:,}"
    at.multiselect(key="aud_segments").set_value(["Champions", "Loyal"]).run()
    (n,) = sql(demo_db, "select count(*) from marts.customers where rfm_segment in ('Champions', 'Loyal')")[0]
    assert metric(at, "Audience size") == f"{n:,}"
    at.selectbox(key="aud_category").set_value("Books").run()
    at.number_input(key="aud_min_spend").set_value(50.0).run()
    at.number_input(key="aud_max_recency").set_value(180).run()
    (n, spend) = sql(
        demo_db,
        """
        select count(*), sum(c.total_spend) from marts.customers c
        where rfm_segment in ('Champions', 'Loyal') and days_since_last_purchase <= 180
          and c.books_amount >= 50""",
    )[0]
    assert 0 < n and metric(at, "Audience size") == f"{n:,}"
    assert metric(at, "Audience spend") == dollars(spend)


def test_audience_export_carries_hashed_ids_only(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    audience = app_data.AudienceFilter(segments=("Champions",), states=("NSW", "VIC"))
    ids = [
        r[0]
        for r in sql(
            demo_db,
            "select customer_id from marts.customers where rfm_segment = 'Champions' "
            "and state in ('NSW', 'VIC') order by customer_id",
        )
    ]
    hidden = pd.read_csv(io.BytesIO(app_data.audience_csv(current_warehouse(), audience, reveal=False)))
    assert set(hidden.columns) & {"customer_id", "email", "full_name", "address"} == set()
    assert list(hidden["customer_key"]) == [hashlib.sha256(i.encode()).hexdigest() for i in ids]
    shown = pd.read_csv(io.BytesIO(app_data.audience_csv(current_warehouse(), audience, reveal=True)))
    assert list(shown["customer_id"]) == ids


def test_audience_export_reports_a_missing_table_in_the_file(tmp_path: Path, use_db) -> None:
    path = tmp_path / "c360.duckdb"
    write_duckdb(path, {"marts.rfm_segments": demo_frames(customers=5)["marts.rfm_segments"]})
    use_db(path)
    exported = pd.read_csv(
        io.BytesIO(app_data.audience_csv(current_warehouse(), app_data.AudienceFilter(), False))
    )
    assert list(exported.columns) == ["error"] and "make build" in exported["error"].iloc[0]


# ---------- data quality and recommendations ----------


def test_data_quality_reads_the_build_artifacts(demo_db: Path, use_db) -> None:
    counts = write_artifacts(use_db(demo_db))
    at = open_page(PAGES[3])
    for status in ("success", "pass", "warn", "fail"):
        assert metric(at, status.capitalize()) == str(counts[status])
    by_model = [
        df.value for df in at.dataframe if "model" in df.value.columns and "pass" in df.value.columns
    ][0]
    assert by_model.set_index("model").loc["customers", "warn"] == 1
    at.selectbox(key="dq_test").set_value("accepted_values_customers_gender").run()
    assert any(list(df.value.columns) == ["value_field", "n_records"] for df in at.dataframe)
    (quarantined,) = sql(
        demo_db,
        "select (select count(*) from quality.quarantined_contacts) + "
        "(select count(*) from quality.quarantined_transactions)",
    )[0]
    assert metric(at, "Quarantined rows") == f"{quarantined:,}"
    (conflicts,) = sql(demo_db, "select count(*) from quality.identity_conflicts")[0]
    assert f"{conflicts:,} rows." in texts(at)
    assert "Every raw row is accounted for." in texts(at)


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
