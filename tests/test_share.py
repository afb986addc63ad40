"""Partner-safe share models and `make share` exports, on DuckDB and Postgres.

Everything is recomputed independently of the dbt macros: direct identifiers are read from the
RAW contacts file with the csv module, k-anonymity is recounted with pandas, partner keys are
recomputed with hashlib from marts.customers.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from c360.share.cli import run_share

SALT_A = "test_salt_A_0123456789abcdef"
SALT_B = "test_salt_B_fedcba9876543210"
K = 5
QUASI_IDENTIFIERS = ["gender", "age_band", "state"]
HEX_KEY = re.compile(r"[0-9a-f]{64}")
DIRECT_RAW_COLUMNS = ["id", "username", "name", "mail", "address", "birthdate"]
REGIONS = {"NSW": "NSW/ACT/QLD", "ACT": "NSW/ACT/QLD", "QLD": "NSW/ACT/QLD", "VIC": "VIC/TAS/SA",
           "TAS": "VIC/TAS/SA", "SA": "VIC/TAS/SA", "WA": "WA/NT", "NT": "WA/NT"}
BROAD_AGE = {"18-24": "18-34", "25-34": "18-34", "35-44": "35-54", "45-54": "35-54",
             "55-64": "55+", "65+": "55+"}


@dataclass
class Delivery:
    """A share build + export on one warehouse with SALT_A."""

    warehouse: Any
    out_dir: Path
    env: dict[str, str]
    manifest: dict[str, Any]


def partner_key(salt: str, customer_id: str) -> str:
    """The documented key, computed independently: hex SHA-256 of the UTF-8 text salt || customer_id."""
    return hashlib.sha256((salt + customer_id).encode("utf-8")).hexdigest()


def share_env(warehouse: Any, directory: Path, salt: str) -> dict[str, str]:
    """The fixture warehouse's env with our own dbt target dir (its artifacts stay untouched) and salt."""
    return {**warehouse.env, "DBT_TARGET_PATH": str(directory / "target"), "C360_SHARE_SALT": salt}


def deliver(warehouse: Any, directory: Path, salt: str = SALT_A) -> Delivery:
    """Build the share models with `salt` and export them into `directory/out`."""
    env = share_env(warehouse, directory, salt)
    manifest = run_share(directory / "out", k=K, salt_file=directory / "unused_salt_file", env=env)
    return Delivery(warehouse, directory / "out", env, manifest)


@pytest.fixture(
    scope="module",
    params=[
        "duckdb_warehouse_sample",
        "duckdb_warehouse_generated",
        pytest.param("pg_warehouse_generated", marks=pytest.mark.postgres),
    ],
)
def delivery(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivery]:
    """One delivery per built warehouse (sample and generated on DuckDB, generated on Postgres)."""
    warehouse = request.getfixturevalue(request.param)
    yield deliver(warehouse, tmp_path_factory.mktemp(f"share_{request.param}"))


def raw_direct_identifiers(raw_dir: Path) -> set[str]:
    """Every non-empty direct-identifier value of the raw contacts file, plus e-mail local parts."""
    values: set[str] = set()
    with (raw_dir / "contacts.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for column in DIRECT_RAW_COLUMNS:
                value = (row.get(column) or "").strip()
                if value:
                    values.add(value)
            local_part = (row.get("mail") or "").split("@")[0].strip()
            if local_part:
                values.add(local_part)
    return {value for value in values if len(value) >= 4}


def share_tables(delivery: Delivery) -> dict[str, pd.DataFrame]:
    """Every table of schema share, all columns (listed from the catalog, not from our manifest)."""
    catalog = delivery.warehouse.query(
        "select table_name from information_schema.tables where table_schema = 'share' order by 1"
    )
    names = list(catalog["table_name"])
    assert {"partner_customers", "partner_category_spend"} <= set(names)
    return {name: delivery.warehouse.query(f"select * from share.{name}") for name in names}


def leaked(identifiers: set[str], text: str) -> list[str]:
    """Identifiers found in `text` after removing 64-hex partner keys (which cannot hold them)."""
    haystack = HEX_KEY.sub("", text)
    return sorted(value for value in identifiers if value in haystack)


def test_no_raw_direct_identifier_in_share_schema(delivery: Delivery) -> None:
    identifiers = raw_direct_identifiers(delivery.warehouse.raw_dir)
    assert len(identifiers) > 40  # the scan has something to look for
    for name, frame in share_tables(delivery).items():
        assert frame["partner_key"].map(lambda v: bool(HEX_KEY.fullmatch(str(v)))).all(), name
        cells = "\n".join(str(value) for value in frame.drop(columns=["partner_key"]).to_numpy().ravel())
        cells += "\n" + "\n".join(frame.columns)
        assert leaked(identifiers, cells) == [], name


def test_no_raw_direct_identifier_or_salt_in_exported_files(delivery: Delivery) -> None:
    identifiers = raw_direct_identifiers(delivery.warehouse.raw_dir)
    files = sorted(delivery.out_dir.iterdir())
    assert {f.name for f in files} == {
        "manifest.json", "partner_customers.parquet", "partner_customers.csv",
        "partner_category_spend.parquet", "partner_category_spend.csv",
    }
    for path in files:
        text = path.read_bytes().decode("latin-1")  # byte-for-byte; uncompressed Parquet keeps values visible
        assert leaked(identifiers, text) == [], path.name
        assert SALT_A not in text, path.name


def test_partner_customers_are_k_anonymous_and_generalised_honestly(delivery: Delivery) -> None:
    share = delivery.warehouse.query("select * from share.partner_customers")
    customers = delivery.warehouse.query("select * from marts.customers")
    sizes = share.groupby(QUASI_IDENTIFIERS, dropna=False).size()
    assert len(share) > 0 and sizes.min() >= K
    # recompute each delivered customer's key and compare what was shared with the mart row
    customers["partner_key"] = customers["customer_id"].map(lambda cid: partner_key(SALT_A, cid))
    joined = share.merge(customers, on="partner_key", suffixes=("", "_mart"), validate="one_to_one")
    assert len(joined) == len(share)  # every key is the salted hash of a real customer_id
    for _, row in joined.iterrows():
        mart_state = row["state_mart"] if pd.notna(row["state_mart"]) else "unknown"
        mart_gender = row["gender_mart"] if pd.notna(row["gender_mart"]) else "unknown"
        assert row["state"] in {mart_state, REGIONS.get(mart_state, "*"), "*"}
        mart_band = row["age_band_mart"]
        assert row["age_band"] in {mart_band, BROAD_AGE.get(mart_band, mart_band), "*"}
        assert row["gender"] in {mart_gender, "*"}
        assert float(row["total_spend"]) == pytest.approx(float(row["total_spend_mart"]))
    # nothing is lost silently: delivered + left out = customers, as the manifest says
    entry = next(m for m in delivery.manifest["models"] if m["name"] == "partner_customers")
    assert (entry["rows"], entry["source_rows"]) == (len(share), len(customers))
    assert entry["rows_left_out"] == len(customers) - len(share)
    assert sorted(entry["quasi_identifiers"]) == sorted(QUASI_IDENTIFIERS)
    stars = {column: int((share[column] == "*").sum()) for column in QUASI_IDENTIFIERS}
    assert entry["rows_with_value_generalised_to_star"] == stars


def test_category_spend_only_for_delivered_customers(delivery: Delivery) -> None:
    spend = delivery.warehouse.query("select * from share.partner_category_spend")
    keys = set(delivery.warehouse.query("select partner_key from share.partner_customers")["partner_key"])
    mart = delivery.warehouse.query(
        "select customer_id, category_slug, amount from marts.customer_category_spend"
    )
    mart["partner_key"] = mart["customer_id"].map(lambda cid: partner_key(SALT_A, cid))
    expected = mart[mart["partner_key"].isin(keys)]
    assert set(spend["partner_key"]) <= keys
    assert len(spend) == len(expected)
    merged = spend.merge(expected, on=["partner_key", "category_slug"], suffixes=("", "_mart"))
    assert len(merged) == len(spend)
    assert (merged["amount"].astype(float) - merged["amount_mart"].astype(float)).abs().max() < 1e-9


def test_manifest_and_files_match_the_tables(delivery: Delivery) -> None:
    manifest = json.loads((delivery.out_dir / "manifest.json").read_text())
    assert manifest["k_anonymity"] == K
    assert manifest["dbt_target"] == delivery.warehouse.target
    assert manifest["salt"]["source"] == "env"
    assert manifest["salt"]["fingerprint"] == hashlib.sha256(SALT_A.encode()).hexdigest()[:12]
    assert pd.Timestamp(manifest["created_at"]).tzinfo is not None
    for entry in manifest["models"]:
        count = int(delivery.warehouse.query(f"select count(*) as n from share.{entry['name']}")["n"][0])
        parquet = pq.read_table(delivery.out_dir / entry["files"]["parquet"]["file"])
        with (delivery.out_dir / entry["files"]["csv"]["file"]).open(newline="") as handle:
            csv_rows = list(csv.DictReader(handle))
        assert entry["rows"] == count == parquet.num_rows == len(csv_rows)
        assert parquet.column_names == entry["columns"]
        assert not csv_rows or list(csv_rows[0]) == entry["columns"]
        for kind in ("parquet", "csv"):
            path = delivery.out_dir / entry["files"][kind]["file"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["files"][kind]["sha256"]
        db_keys = set(delivery.warehouse.query(f"select partner_key from share.{entry['name']}").partner_key)
        csv_keys = {row["partner_key"] for row in csv_rows}
        assert set(parquet.column("partner_key").to_pylist()) == db_keys == csv_keys
