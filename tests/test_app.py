"""The Streamlit app driven with AppTest on a small contract-shaped DuckDB warehouse.

Every page must render without an exception on a built warehouse, on an empty one, on one
without marts and on a missing one; the Overview and Customer profile must show numbers
equal to independent SQL over the same tables. (Segments, data quality, recommendations:
test_app_segments.py; Postgres: test_app_postgres.py; the real dbt build: test_app_built.py.)
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from app_store import write_artifacts, write_duckdb
from streamlit.testing.v1 import AppTest
from test_app_helpers import (
    PAGES,
    dollars,
    expected_ref,
    frame_with,
    infos,
    kpi_dollars,
    metric,
    open_page,
    sql,
    texts,
)
from test_app_support import demo_frames, empty_frames

from c360 import config
from c360.app.metrics import KPI_METRICS
from c360.metrics.client import MetricsClient
from c360.metrics.manifest import manifest_path
from c360.warehouse import Warehouse
from tests.conftest import parse_semantic_manifest

# ---------- every page, three warehouse states ----------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_a_built_warehouse(page: str, demo_db: Path, use_db) -> None:
    write_artifacts(use_db(demo_db))
    at = open_page(page)
    assert at.title[0].value


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_what_to_run_without_a_warehouse(page: str, tmp_path: Path, use_db) -> None:
    use_db(tmp_path / "nothing_here.duckdb")
    at = open_page(page)
    assert "make build" in infos(at)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_handles_empty_tables(page: str, tmp_path: Path, use_db) -> None:
    path = tmp_path / "empty.duckdb"
    write_duckdb(path, empty_frames())
    use_db(path)
    at = open_page(page)
    assert "make build" in infos(at)  # every page says what to run
    if page in ("views/overview.py", "views/customer.py", "views/segments.py"):
        assert "is empty" in infos(at) and "make data" in infos(at)


@pytest.mark.parametrize("page", PAGES[:5])
def test_missing_marts_name_make_build(page: str, tmp_path: Path, use_db) -> None:
    path = tmp_path / "raw_only.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema web; create table web.transactions (id varchar)")
    use_db(path)
    at = open_page(page)
    assert "make build" in infos(at)


# ---------- overview ----------


def _transactions(path: Path) -> pd.DataFrame:
    """The test warehouse's transactions, read independently of the app."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select transaction_date, amount, order_id, customer_id from marts.transactions"
        ).df()


def _window(frame: pd.DataFrame, start: dt.date, end: dt.date) -> tuple[float, int, int]:
    """Spend, orders and active customers with start <= transaction_date <= end (pandas)."""
    days = pd.to_datetime(frame["transaction_date"]).dt.date
    rows = frame[(days >= start) & (days <= end)]
    return float(rows["amount"].sum()), rows["order_id"].nunique(), rows["customer_id"].nunique()


@pytest.mark.parametrize(
    "period,start_of",
    [
        ("Last 30 days", lambda a: a - dt.timedelta(days=29)),
        ("Last 365 days", lambda a: a - dt.timedelta(days=364)),
        ("Year to date", lambda a: a.replace(month=1, day=1)),
    ],
)
def test_overview_kpis_equal_independent_pandas(period: str, start_of, demo_db: Path, use_db) -> None:
    use_db(demo_db, metrics=True)
    at = open_page(PAGES[0])
    at.radio(key="period").set_value(period).run()
    frame = _transactions(demo_db)
    anchor = pd.to_datetime(frame["transaction_date"]).max().date()
    spend, orders, active = _window(frame, start_of(anchor), anchor)
    assert metric(at, "Spend") == kpi_dollars(spend)
    assert metric(at, "Orders") == f"{orders:,}"
    assert metric(at, "Active customers") == f"{active:,}"
    assert metric(at, "Average order value") == dollars(spend / orders)
    client = MetricsClient(Warehouse.from_env(), manifest_path())  # the same metrics outside the app
    values = client.query(
        list(KPI_METRICS), start=start_of(anchor), end=dt.datetime.combine(anchor, dt.time.max)
    )
    assert metric(at, "Spend") == kpi_dollars(values["total_spend"].iloc[0])
    assert metric(at, "Orders") == f"{int(values['order_count'].iloc[0]):,}"
    assert metric(at, "Active customers") == f"{int(values['active_customers'].iloc[0]):,}"
    assert metric(at, "Average order value") == dollars(values["average_order_value"].iloc[0])


def test_overview_follows_a_changed_metric_definition(
    demo_db: Path, use_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy of the project whose total_spend measure counts only Books: the Overview follows it."""
    copy = tmp_path / "project"
    shutil.copytree(
        config.DBT_PROJECT_DIR, copy / "dbt_c360", ignore=shutil.ignore_patterns("target", "logs")
    )
    shutil.copytree(config.REPO_ROOT / "semantic_models", copy / "semantic_models")
    yml = copy / "semantic_models" / "sem_transactions.yml"
    text = yml.read_text()
    old = "      - name: total_spend\n"
    assert text.count(old) == 1
    head, tail = text.split(old)
    assert "expr: amount\n" in tail.split("- name:")[0]
    tail = tail.replace(
        "expr: amount\n", "expr: \"case when category = 'Books' then amount else 0 end\"\n", 1
    )
    yml.write_text(head + old + tail)
    target = use_db(demo_db)
    parse_semantic_manifest(copy / "dbt_c360", target)
    at = open_page(PAGES[0])
    at.radio(key="period").set_value("Last 30 days").run()
    frame = _transactions(demo_db)
    with duckdb.connect(str(demo_db), read_only=True) as con:
        books = con.execute(
            "select transaction_date, amount from marts.transactions where category = 'Books'"
        ).df()
    anchor = pd.to_datetime(frame["transaction_date"]).max().date()
    window = pd.to_datetime(books["transaction_date"]).dt.date >= anchor - dt.timedelta(days=29)
    assert metric(at, "Spend") == kpi_dollars(books.loc[window, "amount"].sum())
    assert metric(at, "Spend") != kpi_dollars(_window(frame, anchor - dt.timedelta(days=29), anchor)[0])


def test_overview_shows_a_delta_only_when_the_previous_period_is_covered(demo_db: Path, use_db) -> None:
    """Demo data spans ~700 days: the previous 30 days and the previous year to date are in the data,
    the previous 365 days are not (the default DAYS=365 case that showed +44,308%)."""
    use_db(demo_db, metrics=True)
    frame = _transactions(demo_db)
    days = pd.to_datetime(frame["transaction_date"]).dt.date
    first, anchor = days.min(), days.max()
    at = open_page(PAGES[0])
    cases = {
        "Last 30 days": (anchor - dt.timedelta(days=59), anchor - dt.timedelta(days=30)),
        "Year to date": (
            anchor.replace(year=anchor.year - 1, month=1, day=1),
            anchor.replace(year=anchor.year - 1),
        ),
    }
    for period, (previous_start, previous_end) in cases.items():
        assert first <= previous_start
        at.radio(key="period").set_value(period).run()
        now_spend, now_orders, _ = _window(
            frame,
            *{
                "Last 30 days": (anchor - dt.timedelta(days=29), anchor),
                "Year to date": (anchor.replace(month=1, day=1), anchor),
            }[period],
        )
        prev_spend, prev_orders, _ = _window(frame, previous_start, previous_end)
        deltas = {m.label: m.delta for m in at.metric}
        assert deltas["Spend"] == f"{(now_spend - prev_spend) / prev_spend * 100:+.1f}%"
        assert deltas["Orders"] == f"{(now_orders - prev_orders) / prev_orders * 100:+.1f}%"
        assert f"Changes compare with {previous_start} to {previous_end}." in texts(at)
    at.radio(key="period").set_value("Last 365 days").run()
    previous_start = anchor - dt.timedelta(days=729)
    assert first > previous_start
    assert [m.delta for m in at.metric] == [""] * 4  # AppTest shows a missing delta as ""
    assert f"No change shown: the comparison period {previous_start} to " in texts(at)
    assert f"before the data's first day {first}" in texts(at)


def test_overview_marks_the_partial_current_month(tmp_path: Path, use_db) -> None:
    path = tmp_path / "c360.duckdb"
    write_duckdb(path, demo_frames(customers=60))
    with duckdb.connect(str(path)) as con:  # the data now ends mid-month
        con.execute("delete from marts.transactions where transaction_date > date '2024-06-12'")
    use_db(path, metrics=True)
    at = open_page(PAGES[0])
    shown = texts(at)
    assert "June 2024 is incomplete (data from " in shown
    (chart,) = at.get("plotly_chart")
    bars = json.loads(chart.proto.spec)["data"]
    partial = {x for b in bars if "partial" in b["name"] for x in b["x"]}
    complete = {x for b in bars if "complete" in b["name"] for x in b["x"]}
    assert {str(x)[:7] for x in partial} == {"2024-06"} and not any(
        str(x).startswith("2024-06") for x in complete
    )
    at.radio(key="period").set_value("Last full month").run()
    spend, _, _ = _window(_transactions(path), dt.date(2024, 5, 1), dt.date(2024, 5, 31))
    assert metric(at, "Spend") == kpi_dollars(spend)


def test_a_rebuild_shows_without_restart(tmp_path: Path, use_db) -> None:
    path = tmp_path / "c360.duckdb"
    write_duckdb(path, demo_frames(customers=60))
    use_db(path, metrics=True)
    before = metric(open_page(PAGES[0]), "Orders")
    with duckdb.connect(str(path)) as con:  # what a rebuild does: new rows, file rewritten
        con.execute(
            "insert into marts.transactions select * replace "
            "('new-' || transaction_id as transaction_id, 'new-' || order_id as order_id) "
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


def search(at: AppTest, text: str, pick: str | None = None) -> AppTest:
    """Type `text` into the search box and press Enter; then pick the match `pick` (if given)."""
    at.text_input(key="customer_search").input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    if pick is not None:
        at.selectbox(key="customer_pick").select(pick).run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def test_search_shows_the_customers_spend(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    customer_id, email, spend, orders = pick_customer(demo_db)
    at = search(open_page(PAGES[1]), email)
    # nothing is selected until the user picks: no profile, nothing in the URL
    assert at.selectbox(key="customer_pick").value is None and not at.metric
    assert "customer_id" not in at.query_params
    (segment, total, last) = sql(
        demo_db,
        "select rfm_segment, total_spend, last_purchase_date from marts.customers where customer_id = ?",
        [customer_id],
    )[0]
    label = at.selectbox(key="customer_pick").options[0]
    assert f"{segment} · {dollars(total)} · last {last}" in label  # tells masked matches apart
    at.selectbox(key="customer_pick").select(customer_id).run()
    assert metric(at, "Total spend") == dollars(spend)
    assert metric(at, "Orders") == f"{orders:,}"
    shared = at.query_params["customer_id"]
    assert shared in ([expected_ref(customer_id)], expected_ref(customer_id))  # the surrogate, not the id


def test_search_by_name_lists_at_most_20_true_matches(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    at = search(open_page(PAGES[1]), "mary")
    rows = sql(demo_db, "select customer_id, full_name from marts.customers")
    # masked: "mary" matches whole name words only (Mary, not Rosemary)
    ids = {cid for cid, name in rows if "mary" in str(name).lower().split()}
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
    shown = texts(search(open_page(PAGES[1]), customer_id, pick=customer_id))
    initials = " ".join(f"{p[0]}." for p in name.split())
    assert initials in shown and f"{email[0]}***@example.com" in shown
    assert name not in shown and email not in shown and address not in shown
    assert customer_id not in shown and expected_ref(customer_id) in shown
    monkeypatch.setenv("C360_SHOW_PII", "1")
    shown = texts(search(open_page(PAGES[1]), customer_id, pick=customer_id))
    assert name in shown and email in shown and address in shown


def test_profile_flags_identity_conflict_and_orphans(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    conflicted = sql(demo_db, "select customer_id from marts.customers where has_identity_conflict limit 1")[
        0
    ][0]
    at = search(open_page(PAGES[1]), conflicted, pick=conflicted)
    assert any("Identity conflict" in w.value for w in at.warning)
    (orphan_owner, n) = sql(
        demo_db,
        "select candidate_customer_id, count(*) from quality.orphan_transaction_candidates group by 1",
    )[0]
    at = search(open_page(PAGES[1]), orphan_owner, pick=orphan_owner)
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
    at = search(open_page(PAGES[1]), customer_id, pick=customer_id)
    assert f"RFM segment: {segment}" in texts(at) and description in texts(at)
    recs = frame_with(at, "rank")
    expected = sql(
        demo_db,
        "select category from marts.next_best_category where customer_id = ? order by rank",
        [customer_id],
    )
    assert list(recs["category"]) == [row[0] for row in expected]


def test_metrics_explorer_without_a_semantic_manifest_says_make_build(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    at = open_page(PAGES[5])
    assert any("semantic manifest" in i.value and "make build" in i.value for i in at.info)


def test_a_shared_profile_url_opens_that_customer(
    demo_db: Path, use_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_db(demo_db)
    customer_id, _, spend, _ = pick_customer(demo_db)
    at = open_page(PAGES[1], {"customer_id": expected_ref(customer_id)})
    assert metric(at, "Total spend") == dollars(spend)
    assert customer_id not in texts(at) and expected_ref(customer_id) in texts(at)
    search(at, "nobody is called this")  # a search with no match clears the selection and the URL
    assert not at.metric and "customer_id" not in at.query_params
    # masked, a raw id in the URL opens nothing (it would confirm the id exists)
    at = open_page(PAGES[1], {"customer_id": customer_id})
    assert not at.metric and any("No customer has the reference" in w.value for w in at.warning)
    monkeypatch.setenv("C360_SHOW_PII", "1")
    at = open_page(PAGES[1], {"customer_id": customer_id})
    assert metric(at, "Total spend") == dollars(spend) and customer_id in texts(at)
