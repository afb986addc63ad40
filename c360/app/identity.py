"""Cached queries and pure helpers behind the identity-resolution evidence (issue #21, docs/identity.md):
a person's merged records and why they matched (Customer profile), cluster sizes, the pairs left for
review and precision/recall against the generator's truth (Data quality).

Ids reach SQL only as bound `?` parameters; the pages mask PII with `c360.app.pii` unless
C360_SHOW_PII=1.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from c360.app.data import TTL_SECONDS
from c360.app.pii import customer_ref, mask_address, mask_email, mask_name
from c360.identity.model import FIELDS, top_levels
from c360.warehouse import Warehouse, query, table_exists

LIST_ROWS = 200
MAX_MEMBERS = 500  # a person of more records is shown by its first ones (bound parameters per query)
LEGEND = (
    "agree: the same value (after normalising: case, email dots and +tags, address punctuation) · "
    "close: similar but not equal (nickname or small typo in a name, same email local part, birth "
    "date typed day-first or in the same month, same postcode) · differ: different · missing: empty "
    "on one side"
)
_STATE = re.compile(r",\s*([A-Za-z]{2,3})\s*,\s*[0-9]{4}\s*$")
_STATES = ("ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA")


def agreement(field: str, level: Any) -> str:
    """A comparison level of `field` (a `<field>_level` column) in words: the exact level
    (`c360.identity.model.top_levels`) agree, 0 differ, -1 (or null) missing, any other close."""
    if level is None or pd.isna(level):
        return "missing"
    value = int(level)
    if value < 0:
        return "missing"
    if value == 0:
        return "differ"
    return "agree" if value >= top_levels()[field] else "close"


def address_state(address: Any) -> str | None:
    """The state of an Australian address (`..., <STATE>, <postcode>`), as marts.customers derives it."""
    if address is None or pd.isna(address):
        return None
    found = _STATE.search(str(address))
    state = found.group(1).upper() if found else None
    return state if state in _STATES else None


def member_ids(profile: dict[str, Any]) -> tuple[str, ...]:
    """The contact ids of a customer's records (`source_contact_ids`), sorted; its own id when unset."""
    listed = profile.get("source_contact_ids")
    if listed is None or pd.isna(listed) or not str(listed).strip():
        return (str(profile["contact_id"]),)
    return tuple(sorted({part.strip() for part in str(listed).split(",") if part.strip()}))


def _placeholders(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def member_records(wh: Warehouse, ids: tuple[str, ...]) -> pd.DataFrame:
    """The clean contact record of each id in `ids` (identity conflicts and quarantined rows are not
    merged): contact_id, full_name, email, birth_date, address, state; in id order."""
    ids = ids[:MAX_MEMBERS]
    frame = query(
        wh,
        f"""
        select contact_id, full_name, email, birth_date, address
        from intermediate.int_contacts_validated
        where contact_id in ({_placeholders(ids)})
            and not is_exact_duplicate and reason is null and not has_identity_conflict
        order by contact_id, _source_file, _source_row_number
        """,
        ids,
    )
    frame = frame.drop_duplicates("contact_id", ignore_index=True)
    frame["state"] = frame["address"].map(address_state)
    return frame


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def member_pairs(wh: Warehouse, ids: tuple[str, ...]) -> pd.DataFrame | None:
    """The scored pairs between the records `ids` (quality.identity_matches), accepted first, then by
    probability; None while the table is not built."""
    if not table_exists(wh, "quality", "identity_matches"):
        return None
    ids = ids[:MAX_MEMBERS]
    marks = _placeholders(ids)
    return query(
        wh,
        f"""
        select contact_id_l, contact_id_r, is_match, matched_by, match_probability, match_weight,
            {", ".join(f"{f}_level" for f in FIELDS)}
        from quality.identity_matches
        where contact_id_l in ({marks}) and contact_id_r in ({marks})
        order by is_match desc, match_probability desc, contact_id_l, contact_id_r
        """,
        (*ids, *ids),
    )


def shown_members(records: pd.DataFrame, reveal: bool, key: str) -> pd.DataFrame:
    """The member records as the profile shows them: masked (id surrogate, initials, `d***@`, birth
    date hidden, address reduced to its state) unless `reveal`."""
    columns = ["contact_id", "full_name", "email", "birth_date", "address"]
    out = records[columns].copy()
    if reveal:
        out["birth_date"] = out["birth_date"].map(lambda v: "—" if v is None or pd.isna(v) else str(v)[:10])
        return out.fillna("—")
    out["contact_id"] = out["contact_id"].map(lambda v: customer_ref(v, key))
    out["full_name"] = out["full_name"].map(mask_name)
    out["email"] = out["email"].map(mask_email)
    out["birth_date"] = "***"
    out["address"] = records["state"].map(mask_address)
    return out


def shown_pairs(pairs: pd.DataFrame, reveal: bool, key: str) -> pd.DataFrame:
    """Pairs with ids masked unless `reveal` and each `<field>_level` as agree / close / differ / missing."""
    out = pairs[
        ["contact_id_l", "contact_id_r", "is_match", "matched_by", "match_probability", "match_weight"]
    ]
    out = out.copy()
    if not reveal:
        for column in ("contact_id_l", "contact_id_r"):
            out[column] = out[column].map(lambda v: customer_ref(v, key))
    for field in FIELDS:
        out[field] = pairs[f"{field}_level"].map(lambda v, f=field: agreement(f, v))
    return out


# --------------------------------------------------------------------------- data quality
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def cluster_sizes(wh: Warehouse) -> pd.DataFrame:
    """People by number of source records (`marts.customers.source_record_count`): records, people."""
    return query(
        wh,
        """
        select source_record_count as records, count(*) as people
        from marts.customers
        group by source_record_count
        order by source_record_count
        """,
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def run_scoring(wh: Warehouse) -> dict[str, Any] | None:
    """The identity step's `identity.scoring` row (threshold, review floor, precision and recall
    against the generator's truth or why it is unknown); None when the step did not write it."""
    if not table_exists(wh, "identity", "scoring"):
        return None
    frame = query(wh, "select * from identity.scoring")
    return None if frame.empty else frame.iloc[0].to_dict()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def review_pairs(wh: Warehouse, threshold: float) -> tuple[int, int, pd.DataFrame] | None:
    """Pairs not matched, from the review floor up to below `threshold` (quality.identity_matches):
    their number, the number of pairs at or above it that the merge gate held back, and the first
    `LIST_ROWS` near-threshold pairs, most probable first. None while the table is not built."""
    if not table_exists(wh, "quality", "identity_matches"):
        return None
    counts = query(
        wh,
        """
        select
            sum(case when match_probability < ? then 1 else 0 end) as below,
            sum(case when match_probability >= ? then 1 else 0 end) as held
        from quality.identity_matches
        where not is_match
        """,
        (float(threshold), float(threshold)),
    )
    rows = query(
        wh,
        f"""
        select contact_id_l, contact_id_r, is_match, matched_by, match_probability, match_weight,
            {", ".join(f"{f}_level" for f in FIELDS)}
        from quality.identity_matches
        where not is_match and match_probability < ?
        order by match_probability desc, contact_id_l, contact_id_r
        limit ?
        """,
        (float(threshold), LIST_ROWS),
    )
    below, held = (0 if pd.isna(v) else int(v) for v in counts.iloc[0][["below", "held"]])
    return below, held, rows
