"""PII handling for the app: masked by default, shown only when `C360_SHOW_PII=1`.

Masked mode also hides raw customer and contact ids: the app shows (and puts in the URL) a
stable surrogate `ref`, the first 12 hex characters of sha256(ref_key || id), where `ref_key`
is derived from the share salt with HMAC (so the salt itself never reaches SQL or a page).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

import pandas as pd

from c360.share.salt import partner_key, resolve_salt

REF_LENGTH = 12
_REF_CONTEXT = b"c360 app customer ref v1"
_ID_COLUMNS = ("customer_id", "contact_id", "candidate_customer_id")


def show_pii() -> bool:
    """Whether the operator started the app with `C360_SHOW_PII=1`."""
    return os.environ.get("C360_SHOW_PII", "").strip() == "1"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


def mask_name(name: Any) -> str:
    """`Mary Davis` -> `M. D.` (initials only)."""
    if _blank(name):
        return "—"
    return " ".join(f"{part[0].upper()}." for part in str(name).split() if part)


def mask_email(email: Any) -> str:
    """`davismary@hotmail.com` -> `d***@hotmail.com`; anything without `@` -> `***`."""
    if _blank(email):
        return "—"
    local, sep, domain = str(email).partition("@")
    if not sep or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_address(state: Any) -> str:
    """An address is reduced to its state."""
    return "—" if _blank(state) else f"({state})"


def ref_key() -> str:
    """The key of the app's id surrogates: HMAC-SHA256(share salt, context), 64 hex characters.

    Stable as long as the share salt is (`C360_SHARE_SALT` or `.c360_share_salt`), so profile
    links keep working across restarts; rotating the salt rotates the refs.
    """
    salt = resolve_salt().value.encode("utf-8")
    return hmac.new(salt, _REF_CONTEXT, hashlib.sha256).hexdigest()


def customer_ref(customer_id: Any, key: str) -> str:
    """The surrogate shown instead of a raw id: first 12 hex of sha256(key || id) (also computable in SQL)."""
    if _blank(customer_id):
        return "—"
    return partner_key(key, customer_id)[:REF_LENGTH]


def shown_id(customer_id: Any, reveal: bool, key: str | None = None) -> str:
    """The raw id when `reveal`, else its surrogate (`key` defaults to `ref_key()`)."""
    if reveal:
        return str(customer_id)
    return customer_ref(customer_id, key or ref_key())


def profile_fields(row: dict[str, Any], reveal: bool) -> dict[str, str]:
    """The profile card's label -> value, masked unless `reveal`."""
    if reveal:
        return {
            "Name": str(row.get("full_name") or "—"),
            "Email": str(row.get("email") or "—"),
            "Address": str(row.get("address") or "—"),
            "Birth date": str(row.get("birth_date") or "—"),
            "Age band": str(row.get("age_band") or "—"),
            "Gender": str(row.get("gender") or "—"),
        }
    return {
        "Name": mask_name(row.get("full_name")),
        "Email": mask_email(row.get("email")),
        "Address": mask_address(row.get("state")),
        "Age band": str(row.get("age_band") or "—"),
        "Gender": str(row.get("gender") or "—"),
    }


def match_label(row: dict[str, Any], reveal: bool, key: str | None = None) -> str:
    """How a search match appears in the selectbox (masked, with the id's surrogate, unless `reveal`)."""
    if reveal:
        return f"{row['full_name']} <{row['email']}> · {row['customer_id']}"
    ref = shown_id(row["customer_id"], reveal, key)
    return f"{mask_name(row['full_name'])} {mask_email(row['email'])} · {ref}"


_NAME_COLUMNS = ("full_name", "name")
_EMAIL_COLUMNS = ("email", "mail")
_HIDDEN_COLUMNS = ("address", "birthdate", "birth_date", "username", "postcode")


def mask_frame(frame: pd.DataFrame, reveal: bool, key: str | None = None) -> pd.DataFrame:
    """Mask the PII columns of any table shown in the app (names, emails, addresses, birth dates, ids).

    Ids (`customer_id`, `contact_id`, `candidate_customer_id`) become their surrogates (`key`
    defaults to `ref_key()`).
    """
    if reveal or frame.empty:
        return frame
    out = frame.copy()
    for column in out.columns:
        lowered = str(column).lower()
        if lowered in _ID_COLUMNS:
            ref = key or ref_key()
            out[column] = out[column].map(lambda value, ref=ref: customer_ref(value, ref))
        elif lowered in _NAME_COLUMNS:
            out[column] = out[column].map(mask_name)
        elif lowered in _EMAIL_COLUMNS:
            out[column] = out[column].map(mask_email)
        elif lowered in _HIDDEN_COLUMNS:
            out[column] = "***"
    return out
