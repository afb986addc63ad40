"""AppTest: untrusted text never becomes Markdown; masked search gives no partial-match signal; ids masked.

The payload warehouse (tests/untrusted_store.py) puts Markdown links, images and HTML in names,
emails, seeds and quality tables. Streamlit renders Markdown in every text element, so each
element's Markdown source must show the payload only backslash-escaped: `evil.example` never
appears verbatim (an unescaped `.` would let `http://evil.example` autolink), and the escaped
text reads back as the payload. The browser test (tests/test_e2e_untrusted.py) checks the DOM.
"""

from __future__ import annotations

import shutil
import string
from pathlib import Path

import pytest
from test_app_helpers import PAGES, expected_ref, markdown_elements, open_page, sql, texts, unescape_markdown
from untrusted_store import (
    EVIL_HOST,
    LINK,
    PAYLOADS,
    payload_customer,
    untrusted_frames,
    write_untrusted_duckdb,
)

from c360.app import search as app_search
from c360.warehouse import Warehouse


@pytest.fixture(scope="module")
def untrusted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The payload warehouse, shared read-only by this module."""
    return write_untrusted_duckdb(tmp_path_factory.mktemp("untrusted") / "c360.duckdb")


def markdown_sources(at) -> list[str]:
    """The Markdown source of every element Streamlit renders as Markdown (and widget labels)."""
    sources = [str(element.value) for element in markdown_elements(at)]
    sources.extend(str(m.label) for m in at.metric)
    for widgets in (at.text_input, at.selectbox, at.multiselect):
        sources.extend(str(w.label) for w in widgets)
    return sources


def assert_no_markup(at) -> None:
    """No element's Markdown source holds the payload's host unescaped."""
    for source in markdown_sources(at):
        assert EVIL_HOST not in source, source


@pytest.mark.parametrize("reveal", [False, True], ids=["masked", "pii_shown"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_payloads_as_plain_text(
    page: str, reveal: bool, untrusted_db: Path, use_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_db(untrusted_db)
    if reveal:
        monkeypatch.setenv("C360_SHOW_PII", "1")
    assert_no_markup(open_page(page))
    for payload in PAYLOADS:
        at = open_page(page, {"customer_id": payload})
        assert_no_markup(at)


@pytest.mark.parametrize("reveal", [False, True], ids=["masked", "pii_shown"])
def test_searching_a_payload_shows_it_escaped(
    reveal: bool, untrusted_db: Path, use_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_db(untrusted_db)
    if reveal:
        monkeypatch.setenv("C360_SHOW_PII", "1")
    person = payload_customer(untrusted_frames())
    for page, key in ((PAGES[1], "customer_search"), (PAGES[4], "recs_search")):
        at = open_page(page)
        at.text_input(key=key).input(person["email"]).run()  # the full (payload) email: a match
        assert not at.exception
        assert_no_markup(at)
        if page == PAGES[1]:
            at.selectbox(key="customer_pick").select(person["customer_id"]).run()  # a name can match too
            assert_no_markup(at)
            names = [unescape_markdown(str(h.value)) for h in at.subheader]
            assert (LINK in names) == reveal  # the name itself only with C360_SHOW_PII=1
            assert person["customer_id"] in texts(at) or not reveal
        at.text_input(key=key).input("nobody " + LINK).run()  # no match: echoed in the warning
        assert_no_markup(at)
        assert any(LINK in unescape_markdown(w.value) for w in at.warning)


def _search(path: Path, text: str, substring: bool = False) -> list[str]:
    wh = Warehouse(engine="duckdb", duckdb_path=path, version=0.0)
    return list(app_search.search_customers(wh, text, substring=substring)["customer_id"])


def whole_value_matches(rows: list[tuple], text: str) -> set[str]:
    """Recomputed: ids whose email/username/id/contact id is `text`, or whose name has each word of it."""
    probe = text.strip().lower()
    out = set()
    for customer_id, contact_id, name, email, username in rows:
        words = str(name).lower().split()
        if (
            probe in (str(email).strip().lower(), str(username).strip().lower())
            or text.strip() in (customer_id, contact_id)
            or all(word in words for word in probe.split())
        ):
            out.add(customer_id)
    return out


def test_masked_search_matches_whole_values_only(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    rows = sql(demo_db, "select customer_id, contact_id, full_name, email, username from marts.customers")
    customer_id, contact_id, name, email, username = next(r for r in rows if "~" not in r[0])
    domain = email.split("@")[1]
    emails = {str(r[3]).strip().lower() for r in rows}
    # the per-character attack: c + '@domain' only finds a customer whose whole email it is
    for char in string.ascii_lowercase + string.digits + "._-":
        probe = f"{char}@{domain}"
        expected = sorted(r[0] for r in rows if str(r[3]).strip().lower() == probe)
        assert sorted(_search(demo_db, probe)) == expected
        assert (expected == []) == (probe not in emails)
    local = email.split("@")[0]
    tokens = {token for r in rows for token in str(r[2]).lower().split()}
    name_part = next(t[:k] for t in sorted(tokens) for k in range(2, len(t)) if t[:k] not in tokens)
    partials = (email[:-1], email[1:], "@" + domain, domain, name_part, customer_id[:13], customer_id[:-1])
    for partial in partials:
        assert whole_value_matches(rows, partial) == set(), partial  # really partial here
        assert _search(demo_db, partial) == [], partial
    for text in (
        local,
        local[:-1],
        username[:-1],
        f"{name.split()[0]} {name.split()[-1]}",
        name.split()[-1].lower(),
        username.upper(),
    ):  # partial unless it is a whole name word
        expected = whole_value_matches(rows, text)
        found = _search(demo_db, text)
        assert set(found) <= expected and len(found) == min(20, len(expected)), text
    same_email = sorted(r[0] for r in rows if str(r[3]).strip().lower() == email.lower())
    assert sorted(_search(demo_db, f"  {email.upper()} ")) == same_email  # case-insensitive, trimmed
    assert customer_id in _search(demo_db, customer_id) and customer_id in _search(demo_db, contact_id)
    first = name.split()[0]
    with_token = {r[0] for r in rows if first.lower() in str(r[2]).lower().split()}
    found = _search(demo_db, first.upper())
    assert set(found) <= with_token and len(found) == min(20, len(with_token))
    # C360_SHOW_PII=1 keeps substring search
    assert customer_id in _search(demo_db, email[1:-1], substring=True)


def test_app_search_gives_no_signal_for_partial_emails(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    customer_id, email = sql(
        demo_db, "select customer_id, email from marts.customers where not has_identity_conflict limit 1"
    )[0]
    at = open_page(PAGES[1])
    at.text_input(key="customer_search").input(email[:-1]).run()
    assert any("No customer matches" in w.value for w in at.warning) and not at.selectbox
    at.text_input(key="customer_search").input(email).run()
    assert at.selectbox(key="customer_pick").options and at.selectbox(key="customer_pick").value is None
    at.selectbox(key="customer_pick").select(customer_id).run()
    assert at.selectbox(key="customer_pick").value == customer_id


def test_data_quality_tables_show_id_surrogates_not_ids(demo_db: Path, use_db, monkeypatch) -> None:
    use_db(demo_db)
    conflicts = sql(demo_db, "select customer_id, contact_id from quality.identity_conflicts")
    orphan = sql(
        demo_db, "select contact_id, candidate_customer_id from quality.orphan_transaction_candidates"
    )
    raw = {value for row in conflicts + orphan for value in row}
    at = open_page(PAGES[3])
    cells = {str(v) for frame in at.dataframe for v in frame.value.to_numpy().ravel()}
    assert raw and not raw & cells
    assert {expected_ref(value) for value in raw} <= cells
    monkeypatch.setenv("C360_SHOW_PII", "1")
    at = open_page(PAGES[3])
    cells = {str(v) for frame in at.dataframe for v in frame.value.to_numpy().ravel()}
    assert raw <= cells


def _page_whose_data_problem_quotes_a_payload() -> None:
    """An AppTest script: a page body failing with a WarehouseError that quotes untrusted text."""
    from untrusted_store import LINK

    from c360.app.ui import guarded
    from c360.warehouse import WarehouseError

    def body() -> None:
        raise WarehouseError(f"No customer matches {LINK} <img src=x>; run `make build` first.")

    guarded(body)


def test_page_guard_shows_quoted_values_as_plain_text() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page_whose_data_problem_quotes_a_payload).run()
    assert not at.exception and len(at.info) == 1
    source = str(at.info[0].value)
    assert EVIL_HOST not in source
    assert "<img" not in source.replace("\\<", "")  # only as the escaped text \<img
    assert "`make build`" in source  # the command to run stays code
    assert unescape_markdown(source) == f"No customer matches {LINK} <img src=x>; run `make build` first."


def test_sidebar_shows_the_warehouse_path_as_plain_text(untrusted_db: Path, use_db, tmp_path: Path) -> None:
    # the path is shown as code; a backtick in it must not end the code span and let a link render
    strange = tmp_path / "a`[Verify](http:evil.example)`b.duckdb"
    shutil.copy(untrusted_db, strange)
    use_db(strange)
    at = open_page(PAGES[0])
    captions = [str(c.value) for c in at.caption if str(c.value).startswith("Warehouse:")]
    assert len(captions) == 1
    assert EVIL_HOST not in captions[0]
