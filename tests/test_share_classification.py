"""PII classification: every column of the sources, marts and share models carries meta.pii.

Checked three ways: the manifest (YAML) parsed in Python, the built warehouse's catalog
compared with the manifest, and the dbt test `pii_unclassified_columns` made to fail on a
warehouse copy with an undocumented column. The share macro must refuse to share such a column.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from c360.dbt_runner import DbtError, run_dbt
from c360.share.cli import build_share
from c360.share.salt import Salt

CLASSES = {"direct", "quasi", "pseudonymous", "none"}
CONTACTS_RAW_COLUMNS = {"id", "username", "name", "gender", "address", "mail", "birthdate",
                        "_loaded_at_utc", "_source_file", "_source_row_number"}
EXPECTED_CONTACTS = {"id": "direct", "username": "direct", "name": "direct", "address": "direct",
                     "mail": "direct", "birthdate": "direct", "gender": "quasi"}
EXPECTED_CUSTOMERS = {"customer_id": "direct", "contact_id": "direct", "username": "direct",
                      "full_name": "direct", "email": "direct", "address": "direct", "birth_date": "direct",
                      "gender": "quasi", "age": "quasi", "age_band": "quasi", "state": "quasi",
                      "postcode": "quasi"}


def manifest(warehouse: Any) -> dict[str, Any]:
    """dbt's manifest.json of the fixture's full build."""
    return json.loads((warehouse.target_path / "manifest.json").read_text())


def classified(node: dict[str, Any]) -> dict[str, str | None]:
    """Column name -> meta.pii for one manifest node."""
    return {name.lower(): col.get("meta", {}).get("pii") for name, col in node["columns"].items()}


def test_manifest_classifies_contacts_source_and_every_mart_column(duckdb_warehouse_sample: Any) -> None:
    parsed = manifest(duckdb_warehouse_sample)
    contacts = next(s for s in parsed["sources"].values()
                    if (s["source_name"], s["name"]) == ("salesforce", "contacts"))
    classes = classified(contacts)
    assert set(classes) == CONTACTS_RAW_COLUMNS
    assert set(classes.values()) <= CLASSES
    assert {c: classes[c] for c in EXPECTED_CONTACTS} == EXPECTED_CONTACTS
    marts = [n for n in parsed["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"]
    assert {"customers", "transactions", "customer_category_spend"} <= {n["name"] for n in marts}
    unclassified = [(n["name"], c) for n in marts for c, pii in classified(n).items() if pii not in CLASSES]
    assert unclassified == []
    customers = classified(next(n for n in marts if n["name"] == "customers"))
    assert {c: customers[c] for c in EXPECTED_CUSTOMERS} == EXPECTED_CUSTOMERS


def test_every_built_mart_column_is_documented_and_classified(duckdb_warehouse_sample: Any) -> None:
    parsed = manifest(duckdb_warehouse_sample)
    documented = {n["alias"]: classified(n) for n in parsed["nodes"].values()
                  if n["resource_type"] == "model" and n["schema"] == "marts"}
    catalog = duckdb_warehouse_sample.query(
        "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
    )
    seeds = {n["alias"] for n in parsed["nodes"].values() if n["resource_type"] == "seed"}
    missing = [(t, c) for t, c in catalog.itertuples(index=False)
               if t not in seeds and documented.get(t, {}).get(c.lower()) not in CLASSES]
    assert missing == []


@pytest.fixture(scope="module")
def tampered_copy(duckdb_warehouse_sample: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A copy of the sample warehouse with an undocumented column in raw contacts and in marts.customers."""
    directory = tmp_path_factory.mktemp("share_tampered")
    db_path = directory / "c360.duckdb"
    shutil.copy(duckdb_warehouse_sample.duckdb_path, db_path)
    con = duckdb.connect(str(db_path))
    try:
        con.execute("alter table salesforce.contacts add column favourite_colour varchar")
        con.execute("alter table marts.customers add column shoe_size varchar")
    finally:
        con.close()
    return {**duckdb_warehouse_sample.env, "C360_DUCKDB_PATH": str(db_path),
            "DBT_TARGET_PATH": str(directory / "target")}


def test_dbt_classification_test_fails_on_an_undocumented_column(tampered_copy: dict[str, str]) -> None:
    result = run_dbt(["test", "--select", "pii_unclassified_columns"], env=tampered_copy, check=False)
    assert result.returncode != 0
    con = duckdb.connect(tampered_copy["C360_DUCKDB_PATH"], read_only=True)
    try:
        rows = con.execute(
            "select node_id, column_name, problem from quality.pii_unclassified_columns"
        ).fetchall()
    finally:
        con.close()
    assert sorted(rows) == [
        ("model.c360.customers", "shoe_size", "column not documented in YAML"),
        ("source.c360.salesforce.contacts", "favourite_colour", "column not documented in YAML"),
    ]


def test_share_build_refuses_an_unclassified_column(tampered_copy: dict[str, str], tmp_path: Path) -> None:
    salt = Salt("tampered_salt_0123456789", "env")
    with pytest.raises(DbtError) as caught:
        build_share(salt, 5, env={**tampered_copy, "DBT_TARGET_PATH": str(tmp_path / "target")})
    message = str(caught.value)
    assert "shoe_size" in message and "meta.pii" in message
    assert salt.value not in message  # the runner's command line is scrubbed
