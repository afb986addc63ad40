"""Helpers shared by the app's AppTest modules (no tests here)."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app.py"
PAGES = (
    "views/overview.py",
    "views/customer.py",
    "views/segments.py",
    "views/data_quality.py",
    "views/recommendations.py",
    "views/metrics_explorer.py",
    "views/audiences.py",
)


# The app's id surrogates derive from the share salt: tests pin it (never the repo's salt file).
APP_TEST_SALT = "app_test_salt_0123456789abcdef"
# CommonMark backslash escape: a backslash before ASCII punctuation shows that character.
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def point_app_at(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Set the app's environment for one test (PII masked, test salt) and start with empty caches."""
    monkeypatch.setenv("C360_SHARE_SALT", APP_TEST_SALT)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("C360_SHOW_PII", raising=False)
    st.cache_data.clear()


def expected_ref(customer_id: str, salt: str = APP_TEST_SALT) -> str:
    """The documented id surrogate, recomputed: sha256(HMAC-SHA256(salt, context) hex || id)[:12]."""
    key = hmac.new(salt.encode(), b"c360 app customer ref v1", hashlib.sha256).hexdigest()
    return hashlib.sha256((key + customer_id).encode()).hexdigest()[:12]


def unescape_markdown(text: str) -> str:
    """What a reader sees of Markdown whose only markup is backslash escapes and word joiners."""
    return _MD_ESCAPE.sub(r"\1", text).replace("\u2060", "")


def open_page(page: str, query: dict[str, Any] | None = None, allow_error: bool = False) -> AppTest:
    """Run app.py (with URL query parameters), switch to `page`, fail on any exception/error box."""
    at = AppTest.from_file(str(APP), default_timeout=90)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page != PAGES[0]:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    if not allow_error:
        assert not at.error, [e.value for e in at.error]
    return at


def markdown_elements(at: AppTest) -> list[Any]:
    """Every element Streamlit renders as Markdown: titles, headers, markdown, captions, alerts."""
    groups = (
        at.title,
        at.header,
        at.subheader,
        at.markdown,
        at.caption,
        at.info,
        at.warning,
        at.success,
        at.error,
    )
    return [element for group in groups for element in group]


def texts(at: AppTest) -> str:
    """All the text the page shows (titles, markdown, captions, alerts, metric labels and values)."""
    parts = [unescape_markdown(str(element.value)) for element in markdown_elements(at)]
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    return "\n".join(parts)


def infos(at: AppTest) -> str:
    """The text of every st.info box."""
    return " ".join(str(i.value) for i in at.info)


def metric(at: AppTest, label: str) -> str:
    """The displayed value of the one metric called `label`."""
    values = [m.value for m in at.metric if m.label == label]
    assert len(values) == 1, f"metric {label!r}: {[m.label for m in at.metric]}"
    return values[0]


def frame_with(at: AppTest, column: str) -> Any:
    """The one displayed dataframe that has `column`."""
    frames = [df.value for df in at.dataframe if column in df.value.columns]
    assert len(frames) == 1, f"{len(frames)} dataframes with {column!r}"
    return frames[0]


def sql(path: Path, statement: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Independent read of a DuckDB test warehouse."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(statement, params or []).fetchall()


def dollars(value: float) -> str:
    """`1234.5` -> `$1,234.50`, as the app shows money."""
    return f"${float(value):,.2f}"


def kpi_dollars(value: float) -> str:
    """A spend KPI tile: cents below $100,000, whole dollars from there on (never truncated)."""
    return dollars(value) if abs(float(value)) < 100_000 else f"${float(value):,.0f}"
