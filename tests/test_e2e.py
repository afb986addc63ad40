"""Browser test: `streamlit run app.py` on a dbt-built warehouse, every page driven in headless Chromium.

Screenshots go to tests/artifacts/ (git-ignored). With C360_UPDATE_SCREENSHOTS=1 small,
palette-compressed copies are also written to docs/screenshots/ for docs/app.md.
Under CI=true a missing /usr/bin/chromium fails instead of skipping.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from app_store import served_app, system_chromium
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_app_helpers import APP_TEST_SALT, expected_ref

from c360 import build_history, config
from c360 import warehouse as c360_warehouse
from c360.app import audiences as aud
from c360.dbt_runner import run_dbt

pytestmark = pytest.mark.e2e
ARTIFACTS = config.REPO_ROOT / "tests" / "artifacts"
DOCS_SHOTS = config.REPO_ROOT / "docs" / "screenshots"
MAX_DOC_BYTES = 150_000


@pytest.fixture(scope="module")
def app_url(duckdb_warehouse_generated: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served by `streamlit run` on the built warehouse (own artifacts copy + source freshness)."""
    wh = duckdb_warehouse_generated
    target = tmp_path_factory.mktemp("e2e_target")
    for name in ("run_results.json", "manifest.json", "semantic_manifest.json"):
        shutil.copy(wh.target_path / name, target / name)
    run_dbt(
        ["source", "freshness"],
        target_path=target,
        check=False,
        env={**wh.env, "DBT_TARGET_PATH": str(target)},
    )
    app_data = tmp_path_factory.mktemp("e2e_app_data")
    quarantine = c360_warehouse.Warehouse.from_env(wh.env)
    for status in (0, 0):  # two builds' summaries, as `make build` appends them
        build_history.append(
            build_history.summarise("duckdb", target, status, 0.0, time.time(), quarantine),
            app_data / build_history.HISTORY_FILE,
        )
    env = {
        **os.environ,
        **wh.env,
        "DBT_TARGET_PATH": str(target),
        "STREAMLIT_CLIENT_SHOW_ERROR_DETAILS": "full",
        "C360_SHARE_SALT": APP_TEST_SALT,  # the app's id surrogates derive from it
        "C360_APP_DATA_DIR": str(app_data),
    }
    env.pop("C360_SHOW_PII", None)
    with served_app(env, tmp_path_factory.mktemp("e2e_log") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless system Chromium (never `playwright install`)."""
    yield from system_chromium()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(45_000)
    try:
        yield tab
    finally:
        context.close()


def settle(tab: Page) -> None:
    """Wait until the script run is over and the charts have drawn."""
    tab.wait_for_selector('[data-testid="stStatusWidget"]', state="hidden")
    tab.wait_for_load_state("networkidle")
    tab.wait_for_timeout(1500)


def check_and_shoot(tab: Page, name: str) -> None:
    """No exception element; screenshot to tests/artifacts (and docs/screenshots on request)."""
    settle(tab)
    assert tab.locator('[data-testid="stException"]').count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(shot))
    if os.environ.get("C360_UPDATE_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        small = DOCS_SHOTS / f"{name}.png"
        with Image.open(shot) as image:
            image.convert("RGB").quantize(colors=256).save(small, optimize=True)
        assert small.stat().st_size < MAX_DOC_BYTES, f"{small} is {small.stat().st_size} bytes"


def pick_option(tab: Page, box: Locator, option: str) -> None:
    """Open a selectbox and pick `option` (a selectbox's value is not its inner text); the click
    that opens the list is retried when a rerun swallowed it."""
    for _ in range(3):
        box.scroll_into_view_if_needed()
        box.locator("button").first.click()  # the chevron opens the list (a click on the text does not)
        choice = tab.get_by_role("option", name=option)
        try:
            choice.wait_for(timeout=10_000)
        except PlaywrightTimeout:
            tab.keyboard.press("Escape")
            settle(tab)
            continue
        choice.click()
        return
    tab.screenshot(path=str(ARTIFACTS / "pick_option_failed.png"))
    raise AssertionError(f"option {option!r} never appeared")


def metric_value(tab: Page, label: str) -> str:
    metric = tab.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_overview(page: Page, app_url: str) -> None:
    page.goto(app_url)
    page.get_by_text("Spend by month and category").wait_for()
    assert metric_value(page, "Orders")
    check_and_shoot(page, "1_overview")


def test_customer_profile_search(page: Page, app_url: str, duckdb_warehouse_generated: Any) -> None:
    wh = duckdb_warehouse_generated
    row = wh.query(
        "select customer_id, email from marts.customers where order_count > 4 "
        "and not has_identity_conflict order by total_spend desc limit 1"
    ).iloc[0]
    spend = wh.query(
        "select sum(amount) as s from marts.transactions where customer_id = ?", (row["customer_id"],)
    )["s"].iloc[0]
    ref = expected_ref(row["customer_id"])
    page.goto(f"{app_url}/customer?customer_id={ref}")  # a shared link: the docs screenshot shows no PII
    page.get_by_text("Purchase timeline").wait_for()
    settle(page)
    assert metric_value(page, "Total spend") == f"${float(spend):,.2f}"
    # text, not the typed input's value; word joiners (invisible, see md_escape) removed
    shown = page.locator('[data-testid="stMain"]').inner_text().replace("\u2060", "")
    assert row["email"] not in shown and f"{row['email'][0]}***@" in shown  # masked by default
    assert row["customer_id"] not in shown and ref in shown and f"customer_id={ref}" in page.url
    check_and_shoot(page, "2_customer_profile")


def test_conflicted_customer_shows_the_held_purchases(
    page: Page, app_url: str, duckdb_warehouse_generated: Any
) -> None:
    """A customer in an identity conflict: the profile says how many purchases of how much are held
    in quarantine on their contact id (plain SQL over quality.quarantined_transactions)."""
    wh = duckdb_warehouse_generated
    row = wh.query(
        "select c.customer_id, c.contact_id, count(*) as n, sum(try_cast(trim(q.amount) as double)) as s "
        "from marts.customers as c join quality.quarantined_transactions as q "
        "on trim(q.contact_id) = c.contact_id where c.has_identity_conflict "
        "group by c.customer_id, c.contact_id order by n desc, c.customer_id limit 1"
    ).iloc[0]
    page.goto(f"{app_url}/customer?customer_id={expected_ref(row['customer_id'])}")
    page.get_by_text("Data-quality flags").first.wait_for()
    settle(page)
    shown = page.locator('[data-testid="stMain"]').inner_text().replace("\u2060", "")
    assert f"{int(row['n']):,} purchase(s) of" in shown
    assert f"{float(row['s']):,.2f}" in shown
    assert "Identity conflict" in shown or "identity conflict" in shown


def test_segments(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/segments")
    page.get_by_text("Audiences page").wait_for()
    settle(page)
    check_and_shoot(page, "3_segments")


def test_audience_restored_from_url_and_salted_csv_download(
    page: Page, app_url: str, duckdb_warehouse_generated: Any
) -> None:
    """Champions who did not buy Kitchen in the last 90 days: size and exported rows equal SQL."""
    ids = duckdb_warehouse_generated.query(
        """
        select customer_id from marts.customers
        where rfm_segment = 'Champions'
          and customer_id not in (
            select customer_id from marts.transactions
            where category = 'Kitchen'
              and transaction_date > (select max(transaction_date) from marts.transactions) - interval 90 day
          )
        order by customer_id
        """
    )["customer_id"].tolist()
    assert ids
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
    page.goto(f"{app_url}/audiences?audience_def={aud.encode(audience)}")
    page.get_by_text("Add a condition").wait_for()
    size = page.locator('[data-testid="stMetric"]').filter(has_text="Audience size")
    expect(size).to_contain_text(f"{len(ids):,}", timeout=20_000)
    check_and_shoot(page, "7_audiences")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download audience CSV").click()
    exported = pd.read_csv(download.value.path())
    assert "customer_id" not in exported.columns and "email" not in exported.columns  # masked by default
    assert list(exported["partner_key"]) == [
        hashlib.sha256(f"{APP_TEST_SALT}{i}".encode()).hexdigest() for i in ids
    ]
    assert set(exported["rfm_segment"]) == {"Champions"}


PAGE_TITLES = [
    "Overview",
    "Customer profile",
    "Segments",
    "Audiences",
    "Data quality",
    "Recommendations",
    "Metrics explorer",
]


def test_data_quality_failing_test_rows_and_build_history(
    page: Page, app_url: str, duckdb_warehouse_generated: Any
) -> None:
    """Open the relationships warning on web.transactions: its flagged rows (count = SQL); the
    build history lists both recorded builds. Opened by URL in a fresh session, the sidebar lists
    the seven pages only (no auto-discovered file list)."""
    (flagged,) = duckdb_warehouse_generated.query(
        "select count(*) as n from web.transactions where contact_id is not null "
        "and contact_id not in (select id from salesforce.contacts where id is not null)"
    )["n"]
    page.goto(f"{app_url}/data_quality")
    page.get_by_text("Last dbt build").wait_for()
    settle(page)
    nav = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
    assert [n.strip().splitlines()[-1] for n in nav] == PAGE_TITLES  # (the icon name comes first)
    assert metric_value(page, "Warnings") and metric_value(page, "Failures") == "0"
    pick_option(
        page,
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Test").first,
        "web.transactions.contact_id exists in salesforce.contacts.id (warn)",
    )
    settle(page)
    page.get_by_text(f"{int(flagged):,} source row(s) flagged").wait_for()
    page.get_by_text("Build history").wait_for()
    page.get_by_text("2 build(s) recorded").wait_for()
    check_and_shoot(page, "4_data_quality")


def test_recommendations(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/recommendations")
    page.get_by_text("Offline evaluation vs baselines").wait_for()
    check_and_shoot(page, "5_recommendations")


def test_metrics_explorer_restores_a_shared_url(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/metrics_explorer?metric=total_spend&metric=active_customers&grain=month")
    page.get_by_text("Generated SQL").wait_for()
    settle(page)
    assert "metric=active_customers" in page.url and "grain=month" in page.url
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()  # plotly loads lazily
    check_and_shoot(page, "6_metrics_explorer")


def test_refresh_button_clears_caches(page: Page, app_url: str) -> None:
    page.goto(app_url)
    page.get_by_text("Spend by month and category").wait_for()
    page.get_by_role("button", name="Refresh data").click()
    page.get_by_text("Caches cleared").wait_for()
    settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
