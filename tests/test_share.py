"""Partner-safe share models and `make share` exports, on DuckDB and Postgres.

Everything is recomputed independently of the dbt macros: direct identifiers are read from the
RAW contacts file with the csv module, k-anonymity is recounted with pandas, partner keys are
recomputed with hashlib from marts.customers, each released value against the generalisations
of the customer's own mart values (tests/share_delivery.py). The partner's linkage attack is
tests/test_share_linkage.py.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from share_delivery import RELEASED, SALT_A, Delivery, K, admissible_values, deliver, partner_key

QUASI_IDENTIFIERS = RELEASED  # every released column of partner_customers but partner_key
HEX_KEY = re.compile(r"[0-9a-f]{64}")
DIRECT_RAW_COLUMNS = ["id", "username", "name", "mail", "address", "birthdate"]
SHARE_MODELS = ["partner_customers", "partner_segment_summary"]


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
    assert set(SHARE_MODELS) <= set(names)
    return {name: delivery.warehouse.query(f"select * from share.{name}") for name in names}


def leaked(identifiers: set[str], text: str) -> list[str]:
    """Identifiers found in `text` after removing 64-hex partner keys (which cannot hold them)."""
    haystack = HEX_KEY.sub("", text)
    return sorted(value for value in identifiers if value in haystack)


def test_no_raw_direct_identifier_in_share_schema(delivery: Delivery) -> None:
    identifiers = raw_direct_identifiers(delivery.warehouse.raw_dir)
    assert len(identifiers) > 40  # the scan has something to look for
    for name, frame in share_tables(delivery).items():
        if "partner_key" in frame.columns:
            assert frame["partner_key"].map(lambda v: bool(HEX_KEY.fullmatch(str(v)))).all(), name
        values = frame.drop(columns=["partner_key"], errors="ignore").to_numpy().ravel()
        cells = "\n".join(str(value) for value in values)
        cells += "\n" + "\n".join(frame.columns)
        assert leaked(identifiers, cells) == [], name


def test_no_raw_direct_identifier_or_salt_in_exported_files(delivery: Delivery) -> None:
    identifiers = raw_direct_identifiers(delivery.warehouse.raw_dir)
    files = sorted(delivery.out_dir.iterdir())
    assert {f.name for f in files} == {
        "manifest.json",
        *(f"{name}.{kind}" for name in SHARE_MODELS for kind in ("parquet", "csv")),
    }
    for path in files:
        text = path.read_bytes().decode("latin-1")  # byte-for-byte; uncompressed Parquet keeps values visible
        assert leaked(identifiers, text) == [], path.name
        assert SALT_A not in text, path.name


def test_partner_customers_are_k_anonymous_and_generalised_honestly(delivery: Delivery) -> None:
    share = delivery.warehouse.query("select * from share.partner_customers")
    customers = delivery.warehouse.query("select * from marts.customers").reset_index(drop=True)
    assert sorted(c for c in share.columns if c != "partner_key") == sorted(RELEASED)
    sizes = share.groupby(RELEASED, dropna=False).size()
    assert len(share) > 0 and sizes.min() >= K
    # recompute each delivered customer's key; every released value is a generalisation of the
    # customer's own mart value (or '*')
    customers["partner_key"] = customers["customer_id"].map(lambda cid: partner_key(SALT_A, cid))
    position = pd.Series(customers.index, index=customers["partner_key"])
    own = position.loc[share["partner_key"]].to_numpy()  # KeyError if a key is not a real customer
    assert len(set(own)) == len(share)
    for column, options in admissible_values(customers).items():
        shown = share[column].astype(str).to_numpy()
        allowed = shown == "*"
        for option in options:
            allowed |= shown == option.astype(str).to_numpy()[own]
        assert allowed.all(), (column, share.loc[~allowed, column].head().tolist())
    # nothing is lost silently: delivered + left out = customers, as the manifest says
    entry = next(m for m in delivery.manifest["models"] if m["name"] == "partner_customers")
    assert (entry["rows"], entry["source_rows"]) == (len(share), len(customers))
    assert entry["rows_left_out"] == len(customers) - len(share)
    assert sorted(entry["quasi_identifiers"]) == sorted(QUASI_IDENTIFIERS)
    stars = {column: int((share[column] == "*").sum()) for column in QUASI_IDENTIFIERS}
    assert entry["rows_with_value_generalised_to_star"] == stars


def test_segment_summary_has_no_key_and_no_small_cell(delivery: Delivery) -> None:
    summary = delivery.warehouse.query("select * from share.partner_segment_summary")
    assert "partner_key" not in summary.columns
    spend = delivery.warehouse.query(
        "select s.customer_id, s.category_slug, c.rfm_segment from marts.customer_category_spend s "
        "join marts.customers c on c.customer_id = s.customer_id"
    )
    cells = spend.groupby(["rfm_segment", "category_slug"])["customer_id"].nunique()
    expected = cells[cells >= K].sort_index()
    got = summary.set_index(["rfm_segment", "category_slug"])["customer_count"].astype(int).sort_index()
    assert got.to_dict() == expected.to_dict()


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
        if "partner_key" not in entry["columns"]:
            continue
        db_keys = set(delivery.warehouse.query(f"select partner_key from share.{entry['name']}").partner_key)
        csv_keys = {row["partner_key"] for row in csv_rows}
        assert set(parquet.column("partner_key").to_pylist()) == db_keys == csv_keys


@pytest.mark.parametrize(
    "fixture", ["duckdb_warehouse_sample", pytest.param("pg_warehouse_generated", marks=pytest.mark.postgres)]
)
def test_share_drops_the_retired_per_key_category_table(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """An upgraded warehouse loses `share.partner_category_spend` (exact amounts per partner key)."""
    warehouse = request.getfixturevalue(fixture)
    ddl = "create table share.partner_category_spend as select 'k' as partner_key, 1.25 as amount"
    if warehouse.target == "duckdb":
        import duckdb

        with duckdb.connect(str(warehouse.duckdb_path)) as con:
            con.execute("create schema if not exists share")
            con.execute(ddl)
    else:
        import psycopg2

        with psycopg2.connect(warehouse.pg.dsn()) as con, con.cursor() as cur:
            cur.execute("create schema if not exists share")
            cur.execute(ddl)
    listed = "select table_name from information_schema.tables where table_schema = 'share'"
    assert "partner_category_spend" in set(warehouse.query(listed)["table_name"])
    deliver(warehouse, tmp_path)
    assert set(warehouse.query(listed)["table_name"]) == set(SHARE_MODELS)
