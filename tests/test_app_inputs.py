"""AppTest: very long and out-of-range URL parameters get a short readable message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app_helpers import PAGES, open_page, texts, unescape_markdown

LONG_ID = "9" * 200_000
HOSTILE = {
    "customer_id": LONG_ID,
    "audience": "n" * 20_000,
    "audience_def": "A" * 200_000,
    "metric": ["total_spend", "x" * 50_000],
    "group_by": ["y" * 50_000],
    "grain": "fortnight" * 1000,
    "filter": ["segment:" + "z" * 50_000],
    "start": "99999-99-99",
    "end": "0000-00-00",
}


def warnings(at) -> list[str]:
    return [unescape_markdown(str(w.value)) for w in at.warning]


@pytest.mark.parametrize("page", PAGES)
def test_no_page_fails_or_echoes_a_huge_url(page: str, demo_db: Path, use_db) -> None:
    use_db(demo_db, metrics=True)
    at = open_page(page, query=HOSTILE, allow_error=True)  # fails on any exception
    assert "Traceback" not in texts(at)
    for message in [*warnings(at), *(str(e.value) for e in at.error)]:
        assert len(message) < 600, message[:200]


@pytest.mark.parametrize(
    ("page", "query", "expected"),
    [
        (
            "views/customer.py",
            {"customer_id": LONG_ID},
            ["No customer has the reference", "200,000 characters"],
        ),
        (
            "views/audiences.py",
            {"audience": "n" * 20_000},
            ["No saved audience is called", "20,000 characters"],
        ),
        ("views/audiences.py", {"audience_def": "A" * 200_000}, ["was not restored", "too long"]),
        (
            "views/metrics_explorer.py",
            {"metric": ["x" * 5000], "grain": "fortnight", "start": "99999-99-99"},
            ["Parts of this link were ignored", "metric", "5,000 characters", "time grain", "start"],
        ),
    ],
    ids=["customer_id", "audience", "audience_def", "explorer"],
)
def test_a_bad_link_says_what_was_not_used(
    page: str, query: dict, expected: list[str], demo_db: Path, use_db
) -> None:
    use_db(demo_db, metrics=True)
    shown = " ".join(warnings(open_page(page, query=query)))
    for part in expected:
        assert part in shown, shown[:300]
    assert len(shown) < 600
