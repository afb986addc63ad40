"""A demo warehouse whose CRM data carries Markdown/HTML payloads (for the untrusted-text tests)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from app_store import write_duckdb
from test_app_support import demo_frames

EVIL_HOST = "evil.example"
LINK = "[Verify your account](http://evil.example/x)"
IMAGE_TAG = "<img src=http://evil.example/i.png>"
IMAGE_MD = "![x](http://evil.example/y.png)"
PAYLOADS = (LINK, IMAGE_TAG, IMAGE_MD)
# The contact whose name and email are payloads (row 5 has no identity conflict).
PAYLOAD_ROW = 5


def untrusted_frames() -> dict[str, pd.DataFrame]:
    """The 400-customer demo warehouse with payloads in names, emails, usernames, seeds and quality tables."""
    frames = demo_frames()
    customers = frames["marts.customers"]
    customers.loc[PAYLOAD_ROW, ["full_name", "email", "username"]] = [LINK, IMAGE_MD, IMAGE_TAG]
    customers.loc[PAYLOAD_ROW + 1, ["full_name", "email"]] = [IMAGE_TAG, LINK]
    customers.loc[PAYLOAD_ROW + 2, ["full_name", "email"]] = [IMAGE_MD, IMAGE_TAG]
    conflicts = frames["quality.identity_conflicts"]
    conflicts["full_name"] = [LINK, IMAGE_MD]
    conflicts["email"] = [IMAGE_TAG, LINK]
    conflicted = customers["customer_id"].isin(conflicts["customer_id"])
    customers.loc[conflicted, "full_name"] = [LINK, IMAGE_MD]
    segments = frames["marts.rfm_segments"]
    segments["description"] = segments["description"] + " " + LINK
    segments["recommended_action"] = segments["recommended_action"] + " " + IMAGE_MD
    frames["quality.quarantined_contacts"]["name"] = [LINK, IMAGE_TAG]
    frames["quality.accepted_values_customers_gender"]["value_field"] = [IMAGE_MD]
    return frames


def write_untrusted_duckdb(path: Path) -> Path:
    """Write the payload warehouse to `path` and return it."""
    write_duckdb(path, untrusted_frames())
    return path


def payload_customer(frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    """customer_id, full_name, email of the contact whose name and email are payloads."""
    row = frames["marts.customers"].iloc[PAYLOAD_ROW]
    return {key: str(row[key]) for key in ("customer_id", "full_name", "email")}
