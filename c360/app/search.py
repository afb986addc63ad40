"""Customer search and id references: whole-value search when PII is masked, substring otherwise.

User input reaches SQL only as bound `?` parameters. The id reference lookup recomputes
`c360.app.pii.customer_ref` in SQL with the key as a bound parameter.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from c360.app.pii import REF_LENGTH, match_label
from c360.app.ui import money
from c360.warehouse import Warehouse, query

TTL_SECONDS = 60
SEARCH_LIMIT = 20
MAX_NAME_TOKENS = 6
RESULT_COLUMNS = ("customer_id", "full_name", "email", "rfm_segment", "total_spend", "last_purchase_date")


def like_pattern(text: str, prefix_only: bool = False) -> str:
    """An `ilike ... escape '!'` pattern matching `text` literally (wildcards escaped)."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"{escaped}%" if prefix_only else f"%{escaped}%"


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def search_customers(
    wh: Warehouse, text: str, limit: int = SEARCH_LIMIT, substring: bool = False
) -> pd.DataFrame:
    """Up to `limit` customers matching `text`.

    substring=False (PII masked): whole values only, so a partial string gives no signal: the full
    email or username (case-insensitive, trimmed), the exact customer or contact id, or names of
    which every word of `text` is a whole word.
    substring=True (C360_SHOW_PII=1): id prefix, or name/username/email containing `text`.
    """
    text = text.strip()
    if not text:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    if substring:
        prefix, contains = like_pattern(text, prefix_only=True), like_pattern(text)
        where = (
            "customer_id ilike ? escape '!' or full_name ilike ? escape '!' "
            "or username ilike ? escape '!' or email ilike ? escape '!'"
        )
        params: list[Any] = [prefix, contains, contains, contains]
    else:
        lowered = text.lower()
        where = "lower(trim(email)) = ? or lower(trim(username)) = ? or customer_id = ? or contact_id = ?"
        params = [lowered, lowered, text, text]
        words = lowered.split()
        if len(words) <= MAX_NAME_TOKENS:
            # a word matches only a whole space-separated word of the name
            tokens = " and ".join("(' ' || lower(full_name) || ' ') like ? escape '!'" for _ in words)
            where += f" or ({tokens})"
            params += [f"% {like_pattern(word)[1:-1]} %" for word in words]
    return query(
        wh,
        f"""
        select {", ".join(RESULT_COLUMNS)}
        from marts.customers
        where {where}
        order by full_name, customer_id
        limit ?
        """,
        (*params, int(limit)),
    )


def result_label(row: dict[str, Any], reveal: bool, key: str | None = None) -> str:
    """A search match as listed: who (masked unless `reveal`), segment, spend and last purchase.

    Segment, spend and last purchase tell apart matches whose masked names look the same.
    """
    last = row.get("last_purchase_date")
    when = "no purchase yet" if last is None or pd.isna(last) else f"last {pd.Timestamp(last).date()}"
    segment = row.get("rfm_segment") or "no segment"
    return f"{match_label(row, reveal, key)} · {segment} · {money(row.get('total_spend'))} · {when}"


def _sha256_hex_sql(wh: Warehouse, expr: str) -> str:
    """Lower-case hex SHA-256 of a text expression on the app's engines (as dbt's sha256_hex)."""
    if wh.engine == "postgres":
        return f"encode(sha256(convert_to({expr}, 'UTF8')), 'hex')"
    return f"sha256({expr})"


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def customer_id_for_ref(wh: Warehouse, ref: str, key: str) -> str | None:
    """The customer id whose surrogate (`c360.app.pii.customer_ref`) is `ref`, or None."""
    ref = ref.strip().lower()
    if len(ref) != REF_LENGTH or any(char not in "0123456789abcdef" for char in ref):
        return None
    digest = _sha256_hex_sql(wh, "cast(? as varchar) || customer_id")
    frame = query(
        wh,
        f"select customer_id from marts.customers where substr({digest}, 1, {REF_LENGTH}) = ? limit 2",
        (key, ref),
    )
    return str(frame["customer_id"].iloc[0]) if len(frame) == 1 else None
