"""Browser test: Markdown/HTML payloads in CRM data, the URL and the search box render as plain text.

`streamlit run app.py` serves the payload warehouse (tests/untrusted_store.py), masked and with
C360_SHOW_PII=1. Headless Chromium opens every page, `/customer?customer_id=<payload>`, and
searches with the payloads. The DOM must hold no `<a>` and no `<img>` pointing at evil.example,
and no request to evil.example may leave the browser (every request is intercepted).
Under CI=true a missing /usr/bin/chromium fails instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest
from app_store import served_app, system_chromium
from playwright.sync_api import Browser, Page, Route
from test_app_helpers import APP_TEST_SALT
from untrusted_store import (
    EVIL_HOST,
    LINK,
    PAYLOADS,
    payload_customer,
    untrusted_frames,
    write_untrusted_duckdb,
)

pytestmark = pytest.mark.e2e
PATHS = ("", "/customer", "/segments", "/audiences", "/data_quality", "/recommendations", "/metrics_explorer")
# The pages whose views read the PII setting (views/: customer, audiences, data_quality,
# recommendations): with C360_SHOW_PII=1 only these render anything differently, so the
# pii_shown run visits these and the masked run every page.
PII_PATHS = ("/customer", "/audiences", "/data_quality", "/recommendations")
# Every link and image (and any other element with a URL attribute) whose target host is evil.example;
# links back to the app itself carry the payload in their query string and are fine.
DOM_PROBE = """host => {
    const bad = u => { try { const h = new URL(u, location.href).hostname;
                             return h === host || h.endsWith('.' + host); } catch (e) { return false; } };
    const urls = e => ['href', 'src', 'srcset', 'action', 'formaction', 'poster', 'data']
        .filter(n => e.hasAttribute(n)).flatMap(n => e.getAttribute(n).split(/[ ,]+/)).filter(bad);
    return {
        links: [...document.querySelectorAll('a')].filter(a => a.href && bad(a.href)).map(a => a.href),
        images: [...document.querySelectorAll('img')].filter(i => bad(i.src) || urls(i).length)
            .map(i => i.src),
        attributes: [...document.querySelectorAll('*')].flatMap(urls),
    };
}"""


@pytest.fixture(scope="module", params=[False, True], ids=["masked", "pii_shown"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on the payload warehouse (masked, then with C360_SHOW_PII=1); yields its URL."""
    directory = tmp_path_factory.mktemp("untrusted_e2e")
    db = write_untrusted_duckdb(directory / "c360.duckdb")
    env = {
        **os.environ,
        "DBT_TARGET": "duckdb",
        "C360_DUCKDB_PATH": str(db),
        "DBT_TARGET_PATH": str(directory / "target"),
        "C360_SHARE_SALT": APP_TEST_SALT,
        "C360_APP_DATA_DIR": str(directory / "app"),
    }
    env.pop("C360_SHOW_PII", None)
    if request.param:
        env["C360_SHOW_PII"] = "1"
    with served_app(env, directory / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Headless system Chromium (never `playwright install`)."""
    yield from system_chromium()


LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


class Watched:
    """A browser tab whose requests are all intercepted; those to evil.example, and any other that
    would leave this machine (fonts, CDNs, telemetry), are aborted and kept."""

    def __init__(self, browser: Browser) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.evil_requests: list[str] = []
        self.external_requests: list[str] = []  # anything not served by this machine
        self.context.route("**/*", self._route)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(45_000)

    def _route(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host == EVIL_HOST or host.endswith("." + EVIL_HOST):
            self.evil_requests.append(route.request.url)
            route.abort()
        elif host not in LOCAL_HOSTS and not route.request.url.startswith(("data:", "blob:")):
            self.external_requests.append(route.request.url)  # the app must work offline
            route.abort()
        else:
            route.continue_()

    def settle(self) -> None:
        """Wait until the script run is over and late resources had their chance to load."""
        self.page.wait_for_selector('[data-testid="stStatusWidget"]', state="hidden")
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_timeout(700)

    def assert_clean(self, where: str) -> None:
        """No link, image or attribute naming evil.example, no request to it, no exception box."""
        self.settle()
        found = self.page.evaluate(DOM_PROBE, EVIL_HOST)
        assert found == {"links": [], "images": [], "attributes": []}, where
        assert self.evil_requests == [], where
        assert self.external_requests == [], f"{where}: requests left the machine"
        assert self.page.locator('[data-testid="stException"]').count() == 0, where

    def main_text(self) -> str:
        """The main area's visible text (invisible word joiners removed)."""
        return self.page.locator('[data-testid="stMain"]').inner_text().replace("\u2060", "")


@pytest.fixture
def tab(chromium: Browser) -> Iterator[Watched]:
    watched = Watched(chromium)
    try:
        yield watched
    finally:
        watched.context.close()


def test_every_page_and_payload_urls_render_no_links_or_images(
    tab: Watched, served: str, request: pytest.FixtureRequest
) -> None:
    pii_shown = request.node.callspec.params["served"]
    for path in PII_PATHS if pii_shown else PATHS:
        tab.page.goto(f"{served}{path}")
        tab.assert_clean(path or "/")
        payloads = PAYLOADS if path == "/customer" else PAYLOADS[:1]
        for payload in payloads:
            tab.page.goto(f"{served}{path}?customer_id={quote(payload)}")
            tab.assert_clean(f"{path}?customer_id={payload}")
    tab.page.goto(f"{served}/customer?customer_id={quote(LINK)}")
    tab.settle()
    assert LINK in tab.main_text()  # the URL's payload is echoed, as text


def test_searching_with_payloads_renders_them_as_text(tab: Watched, served: str) -> None:
    person = payload_customer(untrusted_frames())
    tab.page.goto(f"{served}/customer")
    box = tab.page.get_by_label("Find a customer")
    for text in (*PAYLOADS, person["full_name"]):
        box.fill(text)
        box.press("Enter")
        tab.assert_clean(f"search {text}")
    box.fill(person["email"])  # the payload contact's full email: one match, opened once picked
    box.press("Enter")
    tab.settle()
    tab.page.locator('[data-testid="stSelectbox"]').filter(has_text="Matches").click()
    tab.assert_clean("payload match listed")
    tab.page.get_by_role("option").first.click()
    tab.page.get_by_text("Purchase timeline").wait_for()
    tab.assert_clean("payload profile")
    shown = tab.main_text()
    assert LINK in shown  # the (payload) segment description, as text
    tab.page.goto(f"{served}/recommendations")
    box = tab.page.get_by_label("Find a customer")
    for text in (*PAYLOADS, "nobody " + LINK):
        box.fill(text)
        box.press("Enter")
        tab.assert_clean(f"recommendations search {text}")
