"""Every column of marts.customers recomputed in pandas straight from the raw files.

The reference below re-implements the documented rules (docs/warehouse.md) in plain Python:
typing, exact-duplicate collapse, quarantine precedence, identity conflicts, aggregates, age,
RFM quintiles and segments. It shares no code with the dbt project except the seed CSVs.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from c360 import config
from tests.conftest import Warehouse
from tests.rfm_expected import segment

TS_RE = re.compile(r"\d{4}-\d{2}-\d{2} ([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
DECIMAL_RE = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)")
INT_RE = re.compile(r"[-+]?\d{1,9}")
ADDRESS_RE = re.compile(r",[ ]*([A-Za-z]{2,3})[ ]*,[ ]*([0-9]{4})[ ]*$")
STATES = {"ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"}
CONTACT_KEYS = ["id", "username", "name", "gender", "address", "mail", "birthdate"]
TXN_KEYS = ["id", "contact_id", "transaction_date", "amount", "item_count", "category", "order_id"]


def _text(value: object) -> str | None:
    """A raw value as loaded: empty CSV fields are NULL."""
    return None if value is None or value == "" else str(value)


def _clean(value: str | None) -> str | None:
    return None if value is None or value.strip() == "" else value.strip()


def parse_ts(value: str | None) -> datetime | None:
    s = _clean(value)
    if s is None or not TS_RE.fullmatch(s):
        return None
    try:
        base = datetime.strptime(s[:19], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    fraction = s[20:] if len(s) > 19 else ""
    return base.replace(microsecond=int(fraction.ljust(6, "0"))) if fraction else base


def parse_date(value: str | None) -> date | None:
    s = _clean(value)
    if s is None or not DATE_RE.fullmatch(s):
        return None
    try:
        return date.fromisoformat(s)
    except ValueError:
        return None


def parse_decimal(value: str | None) -> Decimal | None:
    s = _clean(value)
    return Decimal(s) if s is not None and DECIMAL_RE.fullmatch(s) else None


def parse_int(value: str | None) -> int | None:
    s = _clean(value)
    return int(s) if s is not None and INT_RE.fullmatch(s) else None


def read_raw(path: Path) -> list[dict]:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = frame.to_dict("records")
    for number, row in enumerate(rows, 1):
        for key in list(row):
            row[key] = _text(row[key])
        row["_row"] = number
    return rows


def _first_of_each(rows: list[dict], keys: list[str]) -> list[dict]:
    """Collapse exact duplicates (same raw business values): keep the earliest loaded, then first row."""
    ordered = sorted(rows, key=lambda r: (r["loaded_at"] is None, r["loaded_at"] or datetime.min, r["_row"]))
    seen: set[tuple] = set()
    kept = []
    for row in ordered:
        key = tuple(row.get(k) for k in keys)  # an optional column absent from the file is NULL
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return sorted(kept, key=lambda r: r["_row"])


def reference_contacts(raw: list[dict]) -> tuple[list[dict], dict[str, dict]]:
    """Clean customers and, per contact id, whether it has a clean record / a conflict."""
    for row in raw:
        row["loaded_at"] = parse_ts(row["_loaded_at_utc"])
        row["birth_date"] = parse_date(row["birthdate"])
        row["contact_id"] = _clean(row["id"])
    kept = _first_of_each(raw, CONTACT_KEYS)
    for row in kept:
        birth, loaded = row["birth_date"], row["loaded_at"]
        if row["contact_id"] is None:
            row["reason"] = "missing_contact_id"
        elif loaded is None:
            row["reason"] = "invalid_loaded_at"
        elif _clean(row["birthdate"]) is not None and birth is None:
            row["reason"] = "invalid_birthdate"
        elif birth is not None and (birth < date(1900, 1, 1) or birth > loaded.date()):
            row["reason"] = "implausible_birthdate"
        else:
            row["reason"] = None
    by_id: dict[str, list[dict]] = {}
    for row in kept:
        if row["contact_id"] is not None:
            by_id.setdefault(row["contact_id"], []).append(row)
    status = {
        cid: {"clean": any(r["reason"] is None for r in rs), "conflict": len(rs) > 1}
        for cid, rs in by_id.items()
    }
    customers = []
    for cid, rs in by_id.items():
        for n, row in enumerate(sorted(rs, key=lambda r: r["_row"]), 1):
            if row["reason"] is None:
                conflict = len(rs) > 1
                customers.append(
                    {**row, "customer_id": f"{cid}~{n}" if conflict else cid, "conflict": conflict}
                )
    return customers, status


def reference_transactions(
    raw: list[dict], status: dict[str, dict], categories: dict[str, str]
) -> list[dict]:
    """The valid transactions after every quarantine rule, in the documented precedence."""
    for row in raw:
        row["loaded_at"] = parse_ts(row["_loaded_at_utc"])
    kept = _first_of_each(raw, TXN_KEYS)
    now = datetime.now(UTC).replace(tzinfo=None)
    valid_alone = []
    for row in kept:
        at, amount, items = (
            parse_ts(row["transaction_date"]),
            parse_decimal(row["amount"]),
            parse_int(row["item_count"]),
        )
        row.update(
            transaction_at=at,
            amount_value=amount,
            items=items,
            tid=_clean(row["id"]),
            cid=_clean(row["contact_id"]),
        )
        checks = [
            row["tid"] is None,
            row["cid"] is None,
            row["loaded_at"] is None,
            at is None,
            at is not None and row["loaded_at"] is not None and (at > row["loaded_at"] or at > now),
            amount is None,
            amount is not None and amount <= 0,
            items is None,
            items is not None and items <= 0,
            _clean(row["category"]) not in categories,
        ]
        if not any(checks):
            valid_alone.append(row)
    first_by_id: dict[str, dict] = {}
    for row in sorted(valid_alone, key=lambda r: (r["loaded_at"], r["_row"])):
        first_by_id.setdefault(row["tid"], row)
    valid = []
    for row in first_by_id.values():
        contact = status.get(row["cid"])
        if contact is not None and not contact["conflict"] and contact["clean"]:
            valid.append(row)
    return valid


def ntile(keys: list[tuple], buckets: int = 5) -> list[int]:
    """SQL ntile over rows already in order: the first n % buckets tiles get one extra row."""
    n = len(keys)
    size, extra = divmod(n, buckets)
    tiles, tile, left = [], 1, size + (1 if extra >= 1 else 0)
    for _ in keys:
        if left == 0:
            tile += 1
            left = size + (1 if extra >= tile else 0)
        tiles.append(tile)
        left -= 1
    return tiles


def age_band(age: int | None) -> str:
    if age is None:
        return "unknown"
    if age < 18:
        return "under 18"
    for upper, band in ((24, "18-24"), (34, "25-34"), (44, "35-44"), (54, "45-54"), (64, "55-64")):
        if age <= upper:
            return band
    return "65+"


def reference_customers(raw_dir: Path) -> pd.DataFrame:
    """marts.customers, recomputed from raw_dir/contacts.csv and raw_dir/transactions.csv."""
    seed = pd.read_csv(config.DBT_PROJECT_DIR / "seeds" / "product_categories.csv").sort_values("sort_order")
    categories = dict(zip(seed["category_name"], seed["category_slug"], strict=True))
    customers, status = reference_contacts(read_raw(raw_dir / "contacts.csv"))
    valid = reference_transactions(read_raw(raw_dir / "transactions.csv"), status, categories)
    as_of = max(r["transaction_at"].date() for r in valid)
    orders: dict[str, list[dict]] = {}
    for row in valid:
        orders.setdefault(row["cid"], []).append(row)
    out = []
    for c in customers:
        mine = orders.get(c["customer_id"], [])
        dates = [r["transaction_at"].date() for r in mine]
        birth = c["birth_date"]
        age = (
            None
            if birth is None
            else as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
        )
        match = ADDRESS_RE.search(c["address"] or "")
        state = match.group(1).upper() if match and match.group(1).upper() in STATES else None
        total = sum((r["amount_value"] for r in mine), Decimal(0))
        # an order is the trimmed order_id, else the transaction itself (no order_id in the file)
        order_count = len({_clean(r.get("order_id")) or r["tid"] for r in mine})
        record = {
            "customer_id": c["customer_id"],
            "contact_id": c["contact_id"],
            "username": _clean(c["username"]),
            "full_name": _clean(c["name"]),
            "gender": None if _clean(c["gender"]) is None else c["gender"].strip().upper(),
            "email": None if _clean(c["mail"]) is None else c["mail"].strip().lower(),
            "address": _clean(c["address"]),
            "state": state,
            "postcode": match.group(2) if match else None,
            "birth_date": birth,
            "age": age,
            "age_band": age_band(age),
            "has_identity_conflict": c["conflict"],
            # without the identity step (plain dbt build) every record is its own person
            "source_contact_ids": c["contact_id"],
            "source_record_count": 1,
            "match_confidence": None,
            "first_purchase_date": min(dates) if dates else None,
            "last_purchase_date": max(dates) if dates else None,
            "order_count": order_count,
            "items_purchased": sum(r["items"] for r in mine),
            "total_spend": total,
            "average_order_value": total / order_count if mine else None,
            "days_since_last_purchase": (as_of - max(dates)).days if dates else None,
            "acquisition_month": min(dates).replace(day=1) if dates else None,
            "as_of_date": as_of,
            "loaded_at": c["loaded_at"],
        }
        for name, slug in categories.items():
            record[f"{slug}_amount"] = sum(
                (r["amount_value"] for r in mine if r["category"].strip() == name), Decimal(0)
            )
        out.append(record)
    buyers = [r for r in out if r["order_count"] > 0]
    for column, key in (
        ("recency_score", lambda r: (-r["days_since_last_purchase"], r["customer_id"].encode())),
        ("frequency_score", lambda r: (r["order_count"], r["customer_id"].encode())),
        ("monetary_score", lambda r: (r["total_spend"], r["customer_id"].encode())),
    ):
        ordered = sorted(buyers, key=key)
        for row, tile in zip(ordered, ntile([key(r) for r in ordered]), strict=True):
            row[column] = tile
    for row in out:
        row["rfm_segment"] = segment(
            row.get("recency_score"), row.get("frequency_score"), row.get("monetary_score")
        )
    return pd.DataFrame(out).set_index("customer_id").sort_index()


def _normal(value: object) -> object:
    """A comparable Python value from pandas/DuckDB/psycopg2 output."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "dtype") and "float" in str(value.dtype) and math.isnan(float(value)):
        return None  # a numpy float32 null (DuckDB FLOAT)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, Decimal | float) or (hasattr(value, "dtype") and "float" in str(value.dtype)):
        return round(float(value), 6)
    if hasattr(value, "item"):
        return value.item()
    return value


def compare_customers(warehouse: Warehouse) -> None:
    assert warehouse.raw_dir is not None
    expected = reference_customers(warehouse.raw_dir)
    actual = warehouse.query("select * from marts.customers").set_index("customer_id").sort_index()
    assert sorted(actual.columns) == sorted(expected.columns)
    assert list(actual.index) == list(expected.index)
    for column in expected.columns:
        for customer_id in expected.index:
            want, got = _normal(expected.at[customer_id, column]), _normal(actual.at[customer_id, column])
            if isinstance(got, datetime) and isinstance(want, date) and not isinstance(want, datetime):
                got = got.date()
            assert got == want, f"{column} of {customer_id}: mart {got!r} != recomputed {want!r}"


def test_customers_match_recomputation_sample(duckdb_warehouse_sample: Warehouse) -> None:
    compare_customers(duckdb_warehouse_sample)


@pytest.mark.parametrize(
    "fixture",
    ["duckdb_warehouse_generated", pytest.param("pg_warehouse_generated", marks=pytest.mark.postgres)],
)
def test_customers_match_recomputation_generated(request: pytest.FixtureRequest, fixture: str) -> None:
    compare_customers(request.getfixturevalue(fixture))
