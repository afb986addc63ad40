"""Quarantine, identity conflicts and orphans on generated data, checked against the generator's manifest."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

from tests.conftest import Warehouse
from tests.test_dbt_build import check_row_conservation

WAREHOUSES = [
    "duckdb_warehouse_generated",
    pytest.param("pg_warehouse_generated", marks=pytest.mark.postgres),
]

# Generator defect kind -> the quarantine reason it must produce (see docs/warehouse.md).
REASON_OF_KIND = {
    "orphan_contact_id": "orphan_contact_id",
    "unknown_category": "unknown_category",
    "non_numeric_amount": "invalid_amount",
    "zero_amount": "non_positive_amount",
    "negative_amount": "non_positive_amount",
    "unparseable_date": "invalid_transaction_date",
    "future_date": "future_transaction_date",
}
# An empty value in one of these columns -> reason.
REASON_OF_MISSING = {
    "amount": "invalid_amount",
    "category": "unknown_category",
    "transaction_date": "invalid_transaction_date",
    "item_count": "invalid_item_count",
}


@pytest.fixture(params=WAREHOUSES)
def warehouse(request: pytest.FixtureRequest) -> Warehouse:
    return request.getfixturevalue(request.param)


def _manifest(warehouse: Warehouse) -> dict:
    assert warehouse.raw_dir is not None
    return json.loads((warehouse.raw_dir / "manifest.json").read_text())


def _raw_transactions(warehouse: Warehouse) -> pd.DataFrame:
    assert warehouse.raw_dir is not None
    frame = pd.read_csv(warehouse.raw_dir / "transactions.csv", dtype=str, keep_default_na=False)
    frame.index = frame.index + 1  # 1-based row numbers, as _source_row_number
    return frame


def test_quarantine_reasons_match_manifest(warehouse: Warehouse) -> None:
    manifest = _manifest(warehouse)
    defects = manifest["defects"]["transactions"]
    raw = _raw_transactions(warehouse)
    expected: dict[int, str] = {}
    for kind, reason in REASON_OF_KIND.items():
        for row in defects[kind]["row_numbers"]:
            expected[row] = reason
    for row in defects["transaction_missing_value"]["row_numbers"]:
        empty = [c for c in REASON_OF_MISSING if raw.at[row, c] == ""]
        assert len(empty) == 1, f"row {row}: one empty column expected, got {empty}"
        expected[row] = REASON_OF_MISSING[empty[0]]
    # Purchases of people sharing a contact id cannot be attributed: ambiguous, unless another defect wins.
    shared = set(manifest["defects"]["contacts"]["shared_id"]["contact_ids"])
    duplicates = set(defects["duplicate_transaction"]["row_numbers"])
    for row in raw.index[raw["contact_id"].isin(shared)]:
        if row not in expected and row not in duplicates:
            expected[row] = "ambiguous_contact_id"

    got = warehouse.query("select _source_row_number, reason from quality.quarantined_transactions")
    assert dict(zip(got["_source_row_number"].astype(int), got["reason"], strict=True)) == expected
    assert Counter(expected.values())["ambiguous_contact_id"] > 0

    conservation = warehouse.query(
        "select collapsed_duplicate_rows from quality.row_conservation where source = 'web.transactions'"
    )
    assert int(conservation["collapsed_duplicate_rows"][0]) == defects["duplicate_transaction"]["rows"]


def test_contacts_duplicates_and_identity_conflicts_match_manifest(warehouse: Warehouse) -> None:
    contacts_defects = _manifest(warehouse)["defects"]["contacts"]
    conflicts = warehouse.query("select contact_id, customer_id from quality.identity_conflicts")
    assert sorted(set(conflicts["contact_id"])) == sorted(contacts_defects["shared_id"]["contact_ids"])
    assert len(conflicts) == contacts_defects["shared_id"]["rows"]
    assert all(
        cid.startswith(f"{contact}~")
        for contact, cid in zip(conflicts["contact_id"], conflicts["customer_id"], strict=True)
    )
    row = warehouse.query("select * from quality.row_conservation where source = 'salesforce.contacts'")
    assert int(row["collapsed_duplicate_rows"][0]) == contacts_defects["duplicate_contact"]["rows"]
    # Empty optional attributes and stale batches are not reasons to drop a person.
    assert int(row["quarantined_rows"][0]) == 0


def test_every_orphan_has_its_typo_candidate(warehouse: Warehouse) -> None:
    defects = _manifest(warehouse)["defects"]["transactions"]
    raw = _raw_transactions(warehouse)
    orphan_ids = set(raw.loc[defects["orphan_contact_id"]["row_numbers"], "id"])
    candidates = warehouse.query(
        "select transaction_id, contact_id, candidate_customer_id, edit_distance "
        "from quality.orphan_transaction_candidates"
    )
    assert set(candidates["transaction_id"]) == orphan_ids
    # The generator makes one substitution, deletion or adjacent transposition: distance 1 or 2.
    assert candidates["edit_distance"].between(1, 2).all()
    for row in candidates.itertuples():
        assert _levenshtein(row.contact_id, row.candidate_customer_id) == row.edit_distance


def test_row_conservation_generated(warehouse: Warehouse) -> None:
    check_row_conservation(warehouse)


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]
