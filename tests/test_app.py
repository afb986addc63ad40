"""The Streamlit app driven with AppTest on a small contract-shaped warehouse (DuckDB).

Every page must render without an exception on a built warehouse, on an empty one and
on a missing one; interactions must show numbers equal to independent SQL over the
same tables. Postgres runs of the same checks live in test_app_postgres.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from test_app_support import demo_frames, empty_frames, write_artifacts, write_duckdb

from c360 import app_data
from c360.app_db import current_warehouse
from c360.app_pii import export_frame

APP = Path(__file__).resolve().parent.parent / "app.py"
PAGES = [
    "pages/overview.py",
    "pages/customer.py",
    "pages/segments.py",
    "pages/data_quality.py",
    "pages/recommendations.py",
    "pages/metrics_explorer.py",
]


# ---------- fixtures and helpers ----------


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built demo warehouse (400 customers) shared read-only by the session's tests."""
    path = tmp_path_factory.mktemp("app_demo") / "c360.duckdb"
    write_duckdb(path, demo_frames())
    return path


@pytest.fixture
def use_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """Point the app at a DuckDB file (and an artifacts dir in tmp_path); caches start empty."""

    def point(path: Path) -> Path:
        monkeypatch.setenv("DBT_TARGET", "duckdb")
        monkeypatch.setenv("C360_DUCKDB_PATH", str(path))
        monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
        monkeypatch.delenv("C360_SHOW_PII", raising=False)
        return tmp_path / "target"

    st.cache_data.clear()
    yield point
    st.cache_data.clear()


def open_page(page: str) -> AppTest:
    """Run app.py, switch to `page` and fail on any exception."""
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    if page != PAGES[0]:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """All the text the page shows (titles, markdown, captions, alerts, metric labels and values)."""
    parts: list[str] = []
    for group in (
        at.title,
        at.header,
        at.subheader,
        at.markdown,
        at.caption,
        at.info,
        at.warning,
        at.success,
        at.error,
    ):
        parts.extend(str(element.value) for element in group)
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    return "\n".join(parts)


def metric(at: AppTest, label: str) -> str:
    """The displayed value of the metric called `label`."""
    values = [m.value for m in at.metric if m.label == label]
    assert len(values) == 1, f"metric {label!r}: {[m.label for m in at.metric]}"
    return values[0]


def sql(path: Path, statement: str, params: list | None = None) -> list[tuple]:
    """Independent read of the test warehouse."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(statement, params or []).fetchall()


def dollars(value: float) -> str:
    return f"${value:,.2f}"


# ---------- every page, three warehouse states ----------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_a_built_warehouse(page: str, demo_db: Path, use_db) -> None:
    write_artifacts(use_db(demo_db))
    at = open_page(page)
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_what_to_run_without_a_warehouse(page: str, tmp_path: Path, use_db) -> None:
    use_db(tmp_path / "nothing_here.duckdb")
    at = open_page(page)
    guidance = " ".join(i.value for i in at.info)
    assert "make build" in guidance
    assert not at.error


@pytest.mark.parametrize("page", PAGES)
def test_every_page_handles_empty_tables(page: str, tmp_path: Path, use_db) -> None:
    path = tmp_path / "empty.duckdb"
    write_duckdb(path, empty_frames())
    use_db(path)
    at = open_page(page)
    assert not at.error, [e.value for e in at.error]
    if page == "pages/overview.py":
        assert "is empty" in texts(at) and "make data" in texts(at)


@pytest.mark.parametrize("page", PAGES[:5])
def test_missing_marts_name_make_build(page: str, tmp_path: Path, use_db) -> None:
    path = tmp_path / "raw_only.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema web; create table web.transactions (id varchar)")
    use_db(path)
    at = open_page(page)
    assert "make build" in " ".join(i.value for i in at.info)


# ---------- overview ----------


@pytest.mark.parametrize("period,days", [("Last 30 days", 30), ("Last 365 days", 365)])
def test_overview_kpis_equal_independent_sql(period: str, days: int, demo_db: Path, use_db) -> None:
    use_db(demo_db)
    at = open_page(PAGES[0])
    at.radio(key="period").set_value(period).run()
    (anchor,) = sql(demo_db, "select max(transaction_date) from marts.transactions")[0]
    start, previous = anchor - dt.timedelta(days=days), anchor - dt.timedelta(days=2 * days)
    query = (
        "select sum(amount), count(*), count(distinct customer_id) from marts.transactions "
        "where transaction_date > ? and transaction_date <= ?"
    )
    spend, orders, active = sql(demo_db, query, [start, anchor])[0]
    prev_spend, _, _ = sql(demo_db, query, [previous, start])[0]
    assert metric(at, "Spend") == dollars(spend)
    assert metric(at, "Orders") == f"{orders:,}"
    assert metric(at, "Active customers") == f"{active:,}"
    assert metric(at, "Average order value") == dollars(spend / orders)
    delta = [m.delta for m in at.metric if m.label == "Spend"][0]
    assert delta == f"{(spend - prev_spend) / prev_spend * 100:+.1f}%"


def test_a_rebuild_shows_without_restart(tmp_path: Path, use_db) -> None:
    path = tmp_path / "c360.duckdb"
    write_duckdb(path, demo_frames(customers=60))
    use_db(path)
    before = metric(open_page(PAGES[0]), "Orders")
    with duckdb.connect(str(path)) as con:  # what a rebuild does: new rows, file rewritten
        con.execute(
            "insert into marts.transactions select * replace ('new-' || transaction_id as transaction_id) "
            "from marts.transactions where transaction_date = (select max(transaction_date) "
            "from marts.transactions)"
        )
        con.execute("checkpoint")
    (expected,) = sql(
        path,
        "select count(*) from marts.transactions where transaction_date > "
        "(select max(transaction_date) from marts.transactions) - interval 90 day",
    )[0]
    after = metric(open_page(PAGES[0]), "Orders")
    assert after == f"{expected:,}" and after != before


# ---------- customer profile ----------


def pick_customer(demo_db: Path) -> tuple[str, str, float, int]:
    """A customer with purchases and a unique email: id, email, independent spend and orders."""
    customer_id, email = sql(
        demo_db,
        "select customer_id, email from marts.customers where order_count > 2 "
        "and not has_identity_conflict order by customer_id limit 1",
    )[0]
    spend, orders = sql(
        demo_db, "select sum(amount), count(*) from marts.transactions where customer_id = ?", [customer_id]
    )[0]
    return customer_id, email, float(spend), int(orders)


def search(at: AppTest, text: str) -> AppTest:
    at.text_input(key="customer_search").input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_search_shows_the_customers_spend(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    customer_id, email, spend, orders = pick_customer(demo_db)
    at = search(open_page(PAGES[1]), email)
    assert at.selectbox(key="customer_pick").value == customer_id
    assert metric(at, "Total spend") == dollars(spend)
    assert metric(at, "Orders") == f"{orders:,}"
    assert at.query_params["customer_id"] == [customer_id] or at.query_params["customer_id"] == customer_id


def test_search_by_name_lists_at_most_20_true_matches(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    at = search(open_page(PAGES[1]), "mary")
    ids = [
        row[0]
        for row in sql(
            demo_db,
            "select customer_id from marts.customers where lower(full_name) like "
            "'%mary%' or lower(email) like '%mary%' or lower(username) like '%mary%'",
        )
    ]
    options = at.selectbox(key="customer_pick").options
    assert len(options) == min(20, len(ids)) and len(ids) > 20
    assert all("M." in option for option in options)


@pytest.mark.parametrize("text", ["%", "_", "x' or '1'='1", "'; drop table marts.customers; --"])
def test_search_input_is_bound_not_pasted(text: str, demo_db: Path, use_db) -> None:
    use_db(demo_db)
    at = search(open_page(PAGES[1]), text)
    assert any("No customer matches" in w.value for w in at.warning)
    assert sql(demo_db, "select count(*) from marts.customers")[0][0] == 400


def test_profile_masks_pii_by_default(demo_db: Path, use_db, monkeypatch: pytest.MonkeyPatch) -> None:
    use_db(demo_db)
    customer_id, email, _, _ = pick_customer(demo_db)
    (name, address) = sql(
        demo_db, "select full_name, address from marts.customers where customer_id = ?", [customer_id]
    )[0]
    shown = texts(search(open_page(PAGES[1]), customer_id))
    initials = " ".join(f"{p[0]}." for p in name.split())
    assert initials in shown and f"{email[0]}***@example.com" in shown
    assert name not in shown and email not in shown and address not in shown
    monkeypatch.setenv("C360_SHOW_PII", "1")
    shown = texts(search(open_page(PAGES[1]), customer_id))
    assert name in shown and email in shown and address in shown


def test_profile_flags_identity_conflict_and_orphans(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    conflicted = sql(demo_db, "select customer_id from marts.customers where has_identity_conflict limit 1")[
        0
    ][0]
    at = search(open_page(PAGES[1]), conflicted)
    assert any("Identity conflict" in w.value for w in at.warning)
    (orphan_owner, n) = sql(
        demo_db,
        "select candidate_customer_id, count(*) from quality.orphan_transaction_candidates group by 1",
    )[0]
    at = search(open_page(PAGES[1]), orphan_owner)
    assert any(f"{n} orphan transaction" in w.value for w in at.warning)


def test_profile_shows_segment_meaning_and_recommendations(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    customer_id, *_ = pick_customer(demo_db)
    segment, description = sql(
        demo_db,
        "select c.rfm_segment, s.description from marts.customers c join "
        "marts.rfm_segments s using (rfm_segment) where customer_id = ?",
        [customer_id],
    )[0]
    at = search(open_page(PAGES[1]), customer_id)
    assert f"RFM segment: {segment}" in texts(at) and description in texts(at)
    recs = [df for df in at.dataframe if "rank" in df.value.columns][0].value
    expected = sql(
        demo_db,
        "select category from marts.next_best_category where customer_id = ? order by rank",
        [customer_id],
    )
    assert list(recs["category"]) == [row[0] for row in expected]


# ---------- segments ----------


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
    members = app_data.audience_members(current_warehouse(), audience)
    ids = [
        r[0]
        for r in sql(
            demo_db,
            "select customer_id from marts.customers where rfm_segment = 'Champions' "
            "and state in ('NSW', 'VIC') order by customer_id",
        )
    ]
    hidden = export_frame(members, reveal=False)
    assert "customer_id" not in hidden.columns and "email" not in hidden.columns
    assert list(hidden["customer_key"]) == [hashlib.sha256(i.encode()).hexdigest() for i in ids]
    shown = export_frame(members, reveal=True)
    assert list(shown["customer_id"]) == ids


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
    quarantined = sql(
        demo_db,
        "select (select count(*) from quality.quarantined_contacts) + "
        "(select count(*) from quality.quarantined_transactions)",
    )[0][0]
    assert quarantined == 4
    assert "Every raw row is accounted for." in texts(at)


def test_recommendations_empty_state_names_the_commands(tmp_path: Path, use_db) -> None:
    path = tmp_path / "norecs.duckdb"
    write_duckdb(path, demo_frames(customers=50, with_recs=False))
    use_db(path)
    at = open_page(PAGES[4])
    info = " ".join(i.value for i in at.info)
    assert "make build" in info and "make eval-recs" in info


def test_recommendations_show_evaluation(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    at = open_page(PAGES[4])
    table = [df.value for df in at.dataframe if "hit_rate" in df.value.columns][0]
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


def test_metrics_explorer_without_a_semantic_manifest_says_make_build(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    at = open_page(PAGES[5])
    assert any("semantic manifest" in i.value and "make build" in i.value for i in at.info)
