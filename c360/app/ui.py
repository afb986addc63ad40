"""Shared page furniture: the error guard, the warehouse handle, Markdown escaping, number formatting."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

import pandas as pd
import streamlit as st

from c360.app.charts import category_colour_map
from c360.warehouse import Warehouse, WarehouseError

LOG = logging.getLogger(__name__)
# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of them
# stops links, images, HTML, Streamlit's `:color[...]` / `:material/...:` directives and `$...$`
# LaTeX. GFM's autolink literals (`http://x`, `www.x`, `a@b.c`) are found in the text after
# escapes are resolved, so an invisible WORD JOINER (U+2060) also goes before every `:` and `@`
# and after a `www`: the text looks the same but no longer reads as a URL or an email address.
_MARKDOWN_SPECIALS = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_WORD_JOINER = "\u2060"
_AUTOLINK_TRIGGERS = re.compile(r"(?=[:@])|(?i:(?<=www)(?=\.))")
_CODE_SPAN = re.compile(r"(`[^`\n]*`)")


def md_escape(value: object) -> str:
    """`value` as Markdown that renders as exactly its text (for st.markdown, captions, warnings, labels).

    Streamlit renders Markdown in st.markdown/write/caption/info/warning/error/subheader and in
    widget labels; every value from data, the URL or a text box goes through here (or is shown
    with st.text/st.code/st.dataframe, which never render Markdown). Line breaks become spaces;
    `:`, `@` and `www.` carry an invisible word joiner (so copied text differs from the value).
    """
    text = _AUTOLINK_TRIGGERS.sub(_WORD_JOINER, " ".join(str(value).splitlines()))
    return "".join(f"\\{char}" if char in _MARKDOWN_SPECIALS else char for char in text)


def md_quote(value: object, limit: int = 60) -> str:
    """An untrusted value for a message: cut to `limit` characters (a 200,000-character URL
    parameter is not echoed whole, its length is said instead), then md_escape'd.
    """
    text = str(value)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text):,} characters)"
    return md_escape(text)


def md_escape_message(message: object) -> str:
    """An error message as Markdown that shows its text: `code` spans (the commands to run) stay
    code, everything else goes through md_escape, so a value quoted in the message (from data,
    the URL or a text box) cannot render as a link, image or HTML."""
    parts = _CODE_SPAN.split(" ".join(str(message).splitlines()))
    return "".join(part if index % 2 else md_escape(part) for index, part in enumerate(parts))


class AppDataError(WarehouseError):
    """A problem outside the warehouse the user can fix (artifacts, semantic layer); says what to run."""


def guarded(body: Callable[[], None]) -> None:
    """Run a page body; show fixable data problems with `st.info` and never a traceback."""
    try:
        body()
    except WarehouseError as exc:  # AppDataError included
        st.info(md_escape_message(exc), icon=":material/construction:")
    except Exception:  # noqa: BLE001 - the user sees a message, the log keeps the traceback
        LOG.exception("page failed")
        st.error(
            "Something went wrong while drawing this page (details are in the app log). "
            "Try **Refresh data** in the sidebar, or rebuild with `make build`.",
            icon=":material/error:",
        )


def warehouse() -> Warehouse:
    """The warehouse of `DBT_TARGET` etc.; raises `WarehouseError` (with what to run) when it is missing."""
    return Warehouse.from_env().require()


def clear_caches() -> None:
    """Drop every cached query result and parsed artifact (what "Refresh data" does)."""
    st.cache_data.clear()


def refresh_button() -> None:
    """Sidebar button that drops every cached query result, so a rebuild shows at once."""
    if st.sidebar.button(
        "Refresh data", key="refresh_data", icon=":material/refresh:", help="Clear cached query results"
    ):
        clear_caches()
        st.toast("Caches cleared")


def money(value: float | None) -> str:
    """`1234.5` -> `$1,234.50`; None -> an em dash."""
    return "—" if value is None or value != value else f"${value:,.2f}"


def money_short(value: float | None) -> str:
    """Like `money`, but whole dollars from $100,000 on so a KPI tile never truncates."""
    if value is None or value != value or abs(value) < 100_000:
        return money(value)
    return f"${value:,.0f}"


def count(value: float | None) -> str:
    """`1234` -> `1,234`."""
    return "—" if value is None or value != value else f"{int(value):,}"


def utc(value: object) -> str:
    """An ISO timestamp as `2025-06-30 11:07 UTC` (naive values are UTC already); None -> an em dash."""
    if value is None or value != value:
        return "—"
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_convert("UTC") if stamp.tzinfo else stamp
    return f"{stamp:%Y-%m-%d %H:%M} UTC"


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """`frame` as UTF-8 CSV where a float column holding whole numbers only (a count that became
    float because of a missing value) is written as integers: `791`, not `791.0`."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_float_dtype(values) and values.dropna().mod(1).eq(0).all():
            out[column] = values.astype("Int64")
    return out.to_csv(index=False).encode("utf-8")


def recency_text(days: object) -> str:
    """Average days since the last purchase as text: `12`, or `no purchase yet` when there is none."""
    if days is None or days != days:
        return "no purchase yet"
    return f"{float(days):,.0f}"


def label_positions(x: Iterable[float]) -> list[str]:
    """Text positions for bubble labels: neighbours along x alternate above / below their bubble, so
    segments with close recency do not print their names on top of each other."""
    values = list(x)
    order = sorted(range(len(values)), key=lambda i: values[i])
    positions = [""] * len(values)
    for rank, index in enumerate(order):
        positions[index] = "top center" if rank % 2 == 0 else "bottom center"
    return positions


def pct_change(current: float | None, previous: float | None) -> str | None:
    """Period-over-period change as `+12.3%`, or None when the previous value is 0 / missing."""
    if current is None or previous is None or previous != previous or current != current or previous == 0:
        return None
    return f"{(current - previous) / previous * 100:+.1f}%"


def category_colours(categories: Iterable[str]) -> dict[str, str]:
    """The same colour for a category on every chart (assigned in name order, distinct for any
    number of categories; "Other" is grey): c360.app.charts.category_colour_map."""
    return category_colour_map(categories)
