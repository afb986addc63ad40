"""snapshots.contacts_snapshot is SCD type 2: a changed contact gets a closed old version and a
current new one, a contact removed from the CRM export is erased (right to erasure: its versions
are deleted by the post-hook c360.delete_erased_snapshot_versions), a new contact gets one
current row, and every other contact keeps its single untouched current row.

DuckDB works on a copy of the session's built sample warehouse (its `dbt build` took the first
snapshot); Postgres gets its own database where only the contacts chain is built. The shared
session warehouses are never mutated.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import Warehouse, duckdb_warehouse, pg_warehouse

NEW_ADDRESS = "1 Snapshot Street, Testville, VIC, 3000"
NEW_CONTACT_ID = "00000000-5ca9-4000-8000-000000000001"
SNAPSHOT_SQL = (
    "select customer_id, contact_id, address, dbt_valid_from, dbt_valid_to"
    " from snapshots.contacts_snapshot order by customer_id, dbt_valid_from"
)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path, sample_dir: Path) -> Warehouse:
    """An isolated warehouse holding the exercise sample and its first contacts snapshot."""
    directory = tmp_path / "wh"
    directory.mkdir()
    if request.param == "duckdb":
        built: Warehouse = request.getfixturevalue("duckdb_warehouse_sample")
        assert built.duckdb_path is not None
        copy = duckdb_warehouse(directory)
        assert copy.duckdb_path is not None
        shutil.copyfile(built.duckdb_path, copy.duckdb_path)
        return copy
    warehouse = pg_warehouse(request.getfixturevalue("fresh_pg_database"), directory)
    _load_and_snapshot(warehouse, sample_dir / "contacts.csv", sample_dir / "transactions.csv")
    return warehouse


def _load_and_snapshot(warehouse: Warehouse, contacts: Path, transactions: Path) -> None:
    """Load the raw files, then rebuild the snapshot's input chain and snapshot it."""
    warehouse.load(contacts, transactions)
    # One dbt invocation: the snapshot and its upstream models, in DAG order, no data tests.
    warehouse.dbt(
        ["build", "--select", "+contacts_snapshot", "--resource-type", "model", "--resource-type", "snapshot"]
    )


def _snapshot(warehouse: Warehouse) -> pd.DataFrame:
    """snapshots.contacts_snapshot with timestamp columns as pandas datetimes."""
    frame = warehouse.query(SNAPSHOT_SQL)
    frame["dbt_valid_from"] = pd.to_datetime(frame["dbt_valid_from"])
    frame["dbt_valid_to"] = pd.to_datetime(frame["dbt_valid_to"])
    return frame


def test_contacts_snapshot_is_scd_type_2(warehouse: Warehouse, sample_dir: Path, tmp_path: Path) -> None:
    before = _snapshot(warehouse)

    clean = warehouse.query(
        "select customer_id, contact_id, address from intermediate.int_contacts_resolved order by customer_id"
    )
    assert before["customer_id"].is_unique and before["dbt_valid_to"].isna().all()
    assert sorted(before["customer_id"]) == sorted(clean["customer_id"])

    # Second extract: one address changed, one contact gone, one new contact (raw text edited).
    raw = pd.read_csv(sample_dir / "contacts.csv", dtype=str, keep_default_na=False)
    singles = clean[clean["customer_id"] == clean["contact_id"]]["contact_id"].tolist()
    changed_id, removed_id = singles[0], singles[1]
    assert (raw["id"] == changed_id).sum() == 1
    old_address = raw.loc[raw["id"] == changed_id, "address"].iloc[0]
    assert old_address != NEW_ADDRESS
    raw.loc[raw["id"] == changed_id, "address"] = NEW_ADDRESS
    new_row = raw[raw["id"] == changed_id].assign(id=NEW_CONTACT_ID, username="snapshot_new")
    raw = pd.concat([raw[raw["id"] != removed_id], new_row], ignore_index=True)
    second = tmp_path / "second"
    second.mkdir()
    raw.to_csv(second / "contacts.csv", index=False)

    _load_and_snapshot(warehouse, second / "contacts.csv", sample_dir / "transactions.csv")
    after = _snapshot(warehouse)

    versions = after[after["customer_id"] == changed_id].reset_index(drop=True)
    assert len(versions) == 2, versions
    old, new = versions.iloc[0], versions.iloc[1]
    assert old["address"] == old_address and pd.notna(old["dbt_valid_to"])
    assert new["address"] == NEW_ADDRESS and pd.isna(new["dbt_valid_to"])
    assert old["dbt_valid_to"] == new["dbt_valid_from"]
    assert old["dbt_valid_from"] == before.loc[before["customer_id"] == changed_id, "dbt_valid_from"].iloc[0]

    assert (before["customer_id"] == removed_id).sum() == 1
    assert (after["contact_id"] == removed_id).sum() == 0, "an erased contact keeps no version"

    added = after[after["customer_id"] == NEW_CONTACT_ID]
    assert len(added) == 1 and pd.isna(added["dbt_valid_to"].iloc[0])
    assert added["address"].iloc[0] == NEW_ADDRESS

    # Every other contact: still exactly its one original row, current, untouched.
    touched = {changed_id, removed_id, NEW_CONTACT_ID}
    keep_before = before[~before["customer_id"].isin(touched)].reset_index(drop=True)
    keep_after = after[~after["customer_id"].isin(touched)].reset_index(drop=True)
    assert len(keep_before) > 0 and keep_after["dbt_valid_to"].isna().all()
    columns = ["customer_id", "contact_id", "address", "dbt_valid_from"]
    pd.testing.assert_frame_equal(keep_after[columns], keep_before[columns])
    assert len(after) == len(before) + 1
