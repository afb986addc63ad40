"""PII handling for the app: masked by default, shown only when `C360_SHOW_PII=1`."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pandas as pd


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


def hash_id(customer_id: Any) -> str:
    """sha256 hex digest of the customer id, the only id an export carries by default."""
    return hashlib.sha256(str(customer_id).encode("utf-8")).hexdigest()


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


def match_label(row: dict[str, Any], reveal: bool) -> str:
    """How a search match appears in the selectbox (masked unless `reveal`)."""
    if reveal:
        return f"{row['full_name']} <{row['email']}> · {row['customer_id']}"
    return f"{mask_name(row['full_name'])} {mask_email(row['email'])} · {row['customer_id']}"


def export_frame(audience: pd.DataFrame, reveal: bool) -> pd.DataFrame:
    """The audience CSV: `customer_key` = sha256(customer_id), raw ids only when `reveal`."""
    out = audience.copy()
    out.insert(0, "customer_key", out["customer_id"].map(hash_id))
    if not reveal:
        out = out.drop(columns=["customer_id"])
    return out


_NAME_COLUMNS = ("full_name", "name")
_EMAIL_COLUMNS = ("email", "mail")
_HIDDEN_COLUMNS = ("address", "birthdate", "birth_date", "username", "postcode")


def mask_frame(frame: pd.DataFrame, reveal: bool) -> pd.DataFrame:
    """Mask the PII columns of any table shown in the app (names, emails, addresses, birth dates)."""
    if reveal or frame.empty:
        return frame
    out = frame.copy()
    for column in out.columns:
        lowered = str(column).lower()
        if lowered in _NAME_COLUMNS:
            out[column] = out[column].map(mask_name)
        elif lowered in _EMAIL_COLUMNS:
            out[column] = out[column].map(mask_email)
        elif lowered in _HIDDEN_COLUMNS:
            out[column] = "***"
    return out
