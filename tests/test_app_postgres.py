"""The app on Postgres (DBT_TARGET=postgres): every page renders, numbers equal independent SQL.

Each session creates its own database with the dbt role and drops it at the end.
Under CI=true a missing Postgres fails instead of skipping.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg2
import pytest
import streamlit as st
from app_store import write_artifacts, write_postgres
from streamlit.testing.v1 import AppTest
from test_app_helpers import (
    APP,
    APP_TEST_SALT,
    PAGES,
    dollars,
    expected_ref,
    kpi_dollars,
    metric,
    open_page,
    point_app_at,
)
from test_app_support import demo_frames

from c360 import config
from c360.app import audiences as aud
from c360.app.metrics import KPI_METRICS
from c360.app.ui import clear_caches
from c360.app.ui import warehouse as current_warehouse
from c360.metrics.client import MetricsClient
from c360.metrics.manifest import manifest_path
from c360.warehouse import Warehouse, WarehouseError, query, to_pg_paramstyle
from tests.conftest import new_pg_database

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="session")
def pg_demo_db() -> Iterator[str]:
    """A fresh database holding the demo warehouse, dropped at the end of the session."""
    with new_pg_database("app") as settings:
        try:
            write_postgres(settings.dsn(), demo_frames())
            yield settings.dbname
        finally:
            st.cache_resource.clear()  # closes nothing by itself: drop with force ends pooled sessions


@pytest.fixture
def on_pg(
    pg_demo_db: str, semantic_manifest: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """Point the app at the session's Postgres database (with the semantic manifest); caches start empty."""
    point_app_at(
        monkeypatch,
        {
            "DBT_TARGET": "postgres",
            "C360_PG_DB": pg_demo_db,
            "DBT_TARGET_PATH": str(tmp_path / "target"),
            "C360_APP_DATA_DIR": str(tmp_path / "app"),
        },
    )
    write_artifacts(tmp_path / "target")
    shutil.copy(semantic_manifest, tmp_path / "target" / "semantic_manifest.json")
    yield config.pg_settings().dsn()
    st.cache_data.clear()


def pg(dsn: str, statement: str, params: tuple = ()) -> list[tuple]:
    """Independent read with a plain psycopg2 connection."""
    with psycopg2.connect(dsn) as con, con.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_postgres(page: str, on_pg: str) -> None:
    at = open_page(page)
    assert at.title[0].value


def test_overview_kpis_equal_sql_and_the_metrics_client(on_pg: str) -> None:
    at = open_page(PAGES[0])
    at.radio(key="period").set_value("Last 90 days").run()
    spend, orders, active, anchor = pg(
        on_pg,
        "select sum(amount), count(distinct order_id), count(distinct customer_id), "
        "(select max(transaction_date) from marts.transactions) from marts.transactions "
        "where transaction_date > (select max(transaction_date) from marts.transactions) - 90",
    )[0]
    assert metric(at, "Spend") == kpi_dollars(spend)
    assert metric(at, "Orders") == f"{orders:,}"
    assert metric(at, "Active customers") == f"{active:,}"
    assert metric(at, "Average order value") == dollars(float(spend) / orders)
    client = MetricsClient(Warehouse.from_env(), manifest_path())
    start, end = anchor - dt.timedelta(days=89), dt.datetime.combine(anchor, dt.time.max)
    values = client.query(list(KPI_METRICS), start=start, end=end).iloc[0]
    assert metric(at, "Spend") == kpi_dollars(values["total_spend"])
    assert metric(at, "Orders") == f"{int(values['order_count']):,}"
    assert metric(at, "Average order value") == dollars(values["average_order_value"])


def test_customer_search_and_spend_on_postgres(on_pg: str) -> None:
    customer_id, email = pg(
        on_pg,
        "select customer_id, email from marts.customers where order_count > 2 order by customer_id limit 1",
    )[0]
    (spend,) = pg(on_pg, "select sum(amount) from marts.transactions where customer_id = %s", (customer_id,))[
        0
    ]
    at = open_page(PAGES[1])
    at.text_input(key="customer_search").input(email.upper()).run()  # ilike: case-insensitive
    at.selectbox(key="customer_pick").select(customer_id).run()
    assert metric(at, "Total spend") == f"${float(spend):,.2f}"
    at.text_input(key="customer_search").input("%' or 1=1 --").run()
    assert any("No customer matches" in w.value for w in at.warning)


def test_masked_search_and_id_reference_on_postgres(on_pg: str) -> None:
    customer_id, email = pg(
        on_pg,
        "select customer_id, email from marts.customers where not has_identity_conflict "
        "and order_count > 0 order by customer_id limit 1",
    )[0]
    (spend,) = pg(on_pg, "select sum(amount) from marts.transactions where customer_id = %s", (customer_id,))[
        0
    ]
    at = open_page(PAGES[1])
    at.text_input(key="customer_search").input(email[:-1]).run()  # a partial email: no signal
    assert any("No customer matches" in w.value for w in at.warning) and not at.selectbox
    at = open_page(PAGES[1], {"customer_id": expected_ref(customer_id)})  # the reference, hashed in SQL
    assert metric(at, "Total spend") == f"${float(spend):,.2f}"


def test_champions_without_kitchen_audience_on_postgres(on_pg: str) -> None:
    audience = aud.Audience(
        (
            aud.Group(
                (
                    aud.Condition("rfm_segment", "in", ("Champions",)),
                    aud.Condition("category", "not_bought", ("Kitchen",), days=90),
                )
            ),
        )
    )
    rows = pg(
        on_pg,
        """
        select customer_id, email, total_spend from marts.customers
        where rfm_segment = 'Champions'
          and customer_id not in (
            select customer_id from marts.transactions
            where category = 'Kitchen'
              and transaction_date > (select max(transaction_date) from marts.transactions) - 90
          )
        order by customer_id
        """,
    )
    assert rows
    at = open_page(PAGES[6], {"audience_def": aud.encode(audience)})
    assert metric(at, "Audience size") == f"{len(rows):,}"
    assert metric(at, "Audience spend") == f"${sum(float(r[2]) for r in rows):,.2f}"
    exported = pd.read_csv(io.BytesIO(aud.audience_csv(current_warehouse(), audience, reveal=False)))
    assert list(exported["partner_key"]) == [
        hashlib.sha256(f"{APP_TEST_SALT}{r[0]}".encode()).hexdigest() for r in rows
    ]
    assert list(exported["email_sha256"]) == [
        hashlib.sha256(r[1].strip().lower().encode()).hexdigest() for r in rows
    ]
    champions = aud.Audience((aud.Group((aud.Condition("rfm_segment", "in", ("Champions",)),)),))
    (n_champions,) = pg(on_pg, "select count(*) from marts.customers where rfm_segment = 'Champions'")[0]
    assert aud.audience_overlap(current_warehouse(), audience, champions) == {
        "both": len(rows),
        "first": 0,
        "second": n_champions - len(rows),
    }
    injected = aud.Audience((aud.Group((aud.Condition("state", "in", ("NSW' or '1'='1",)),)),))
    assert aud.audience_size(current_warehouse(), injected)["customers"] == 0


def test_query_helper_binds_and_converts(on_pg: str) -> None:
    settings = config.pg_settings()
    wh = Warehouse("postgres", pg=settings)
    frame = query(wh, "select ? as a, ? || '%' as b, cast(? as numeric(10, 2)) as c", (1, "50", "2.50"))
    assert frame.iloc[0].to_dict() == {"a": 1, "b": "50%", "c": 2.5}
    assert isinstance(frame.iloc[0]["c"], float)
    assert to_pg_paramstyle("select '%' where a = ?") == "select '%%' where a = %s"
    with pytest.raises(WarehouseError, match="make build"):
        query(wh, "select * from marts.no_such_table")


def test_unreachable_database_says_what_to_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DBT_TARGET", "postgres")
    monkeypatch.setenv("C360_PG_DB", f"c360_missing_{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path))
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert any("make build" in i.value and "Postgres" in i.value for i in at.info)


def test_postgres_results_stay_cached_until_refresh(on_pg: str) -> None:
    count_sql = (
        "select count(*) from marts.transactions "
        "where transaction_date > (select max(transaction_date) - 90 from marts.transactions)"
    )
    at = open_page(PAGES[0])
    before = metric(at, "Orders")
    assert before == f"{pg(on_pg, count_sql)[0][0]:,}"
    with psycopg2.connect(on_pg) as con, con.cursor() as cur:
        cur.execute(
            "insert into marts.transactions select 'extra-' || transaction_id, 'extra-' || order_id, "
            "customer_id, transaction_at, "
            "transaction_date, amount, item_count, category, category_slug, loaded_at "
            "from marts.transactions order by transaction_at desc limit 3"
        )
    try:
        at = open_page(PAGES[0])  # a new session
        assert metric(at, "Orders") == before  # cached: Postgres has no file version to notice
        clear_caches()  # the sidebar button's action (clicked in the browser test)
        at = open_page(PAGES[0])
        assert metric(at, "Orders") == f"{pg(on_pg, count_sql)[0][0]:,}" != before
    finally:
        with psycopg2.connect(on_pg) as con, con.cursor() as cur:
            cur.execute("delete from marts.transactions where transaction_id like 'extra-%'")
        st.cache_data.clear()
