"""The audience export: CSV with the salted partner key and the normalised email's SHA-256, and a
JSON sidecar holding the definition. Raw ids and PII only when `C360_SHOW_PII=1`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pandas as pd

from c360.app.audiences.conditions import Audience
from c360.app.audiences.queries import audience_members, audience_size, latest_date
from c360.share.salt import SaltError, fingerprint, partner_key, required_salt
from c360.warehouse import Warehouse, WarehouseError


def sha256_text(text: str) -> str:
    """Lower-case hex SHA-256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def email_hash(email: Any) -> str:
    """SHA-256 of the normalised email (trimmed, lower-cased), as customer-match uploads expect; or ""."""
    if email is None or (isinstance(email, float) and email != email) or not str(email).strip():
        return ""
    return sha256_text(str(email).strip().lower())


def export_frame(members: pd.DataFrame, reveal: bool, salt: str) -> pd.DataFrame:
    """The activation file: `partner_key` = sha256(salt || customer_id), `email_sha256`, attributes.

    Raw `customer_id`, `full_name` and `email` stay only when `reveal` (C360_SHOW_PII=1).
    """
    out = members.copy()
    out.insert(0, "email_sha256", out["email"].map(email_hash))
    out.insert(0, "partner_key", out["customer_id"].map(lambda cid: partner_key(salt, cid)))
    if not reveal:
        out = out.drop(columns=["customer_id", "full_name", "email"])
    return out


def _error_csv(exc: Exception) -> bytes:
    return pd.DataFrame({"error": [str(exc)]}).to_csv(index=False).encode("utf-8")


def audience_csv(wh: Warehouse, audience: Audience, reveal: bool) -> bytes:
    """The audience CSV (`export_frame`).

    Runs when the download button is clicked, outside the page guard, so a data problem becomes
    a one-line CSV saying what went wrong instead of an exception.
    """
    try:
        salt = required_salt().value
        members = audience_members(wh, audience)
    except (WarehouseError, SaltError) as exc:
        return _error_csv(exc)
    return export_frame(members, reveal, salt).to_csv(index=False).encode("utf-8")


def audience_definition(wh: Warehouse, name: str, audience: Audience, reveal: bool) -> bytes:
    """The export's sidecar JSON: name, definition (also in words), rows, anchor date, salt fingerprint."""
    try:
        salt = required_salt().value
        rows = audience_size(wh, audience)["customers"]
        anchor = latest_date(wh)
    except (WarehouseError, SaltError) as exc:
        return json.dumps({"error": str(exc)}).encode("utf-8")
    sidecar = {
        "audience": name,
        "definition": audience.to_dict(),
        "described": audience.describe(),
        "rows": rows,
        "anchor_date": None if anchor is None else anchor.isoformat(),
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "salt_fingerprint": fingerprint(salt),
        "columns": {
            "partner_key": "lower-case hex sha256 of the UTF-8 text salt || customer_id (as make share)",
            "email_sha256": "lower-case hex sha256 of the trimmed, lower-cased email; empty without one",
        },
        "pii": "raw ids, names and emails included (C360_SHOW_PII=1)" if reveal else "no raw ids or PII",
    }
    return json.dumps(sidecar, indent=2).encode("utf-8")
