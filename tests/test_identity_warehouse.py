"""Identity resolution in the warehouse: the Postgres step finds the DuckDB clusters, a merged
person's marts.customers row equals a pandas recomputation over all their ids (the metrics count
people, and the partner share gives each person one key), and the incremental
marts.transactions follows a person key that changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from c360 import config
from c360.identity.step import SCHEMA, run_duckdb, run_postgres
from data_gen.generate import generator
from data_gen.generate.defects import resolve_rates
from tests.conftest import Warehouse, duckdb_warehouse, patched_environ, pg_warehouse
from tests.metrics_expected import client_for
from tests.share_delivery import partner_key

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)
MODELS = ["--resource-type", "seed", "--resource-type", "model"]
SHARE_SALT = "identity-share-test-salt-0001"
TXN_COLUMNS = "transaction_id, customer_id, transaction_at, amount, item_count, category_slug"


def _aliased(out: Path, customers: int, seed: int, rate: float) -> Path:
    """Generated data without other defects (every row is clean), `rate` of people registered twice."""
    rates = resolve_rates("none", {"same_person_new_id": rate})
    generator.generate(customers, seed, out, days=120, defects=rates, now=NOW)
    return out


def _build(
    warehouse: Warehouse, raw: Path, select: str, full_refresh: bool = False, manifest: Path | None = None
) -> None:
    """Load `raw`, run the identity step into the DuckDB file (scored against `manifest`), run dbt
    up to `select` (space-separated selectors, each with its parents)."""
    warehouse.load(raw / "contacts.csv", raw / "transactions.csv")
    assert warehouse.duckdb_path is not None
    run_duckdb(warehouse.duckdb_path, 0.9, 0.2, manifest)
    selected = " ".join(f"+{part}" for part in select.split())
    warehouse.dbt(["build", "--select", selected, *MODELS, *(["--full-refresh"] if full_refresh else [])])


@pytest.fixture(scope="module")
def aliased(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _aliased(tmp_path_factory.mktemp("aliased"), 1500, 5, 0.05)


def test_postgres_step_writes_the_duckdb_clusters(
    aliased: Path, tmp_path: Path, fresh_pg_database: config.PgSettings
) -> None:
    duck = duckdb_warehouse(tmp_path / "duck")
    duck.load(aliased / "contacts.csv", aliased / "transactions.csv")
    assert duck.duckdb_path is not None
    expected = run_duckdb(duck.duckdb_path, 0.9, 0.2).clusters
    pg = pg_warehouse(fresh_pg_database, tmp_path / "pg")
    pg.load(aliased / "contacts.csv", aliased / "transactions.csv")
    with patched_environ(pg.env):
        run_postgres(fresh_pg_database.dsn(), SCHEMA, 0.9, 0.2)
    cols = "contact_id, person_id, cluster_size"
    written = pg.query(f"select {cols} from {SCHEMA}.contact_clusters order by contact_id")
    duck_written = duck.query(f"select {cols} from {SCHEMA}.contact_clusters order by contact_id")
    assert (expected["cluster_size"] > 1).sum() > 50  # the 5 % aliases were found
    pd.testing.assert_frame_equal(written.astype({"cluster_size": "int64"}), duck_written, check_dtype=False)


def test_merged_person_customers_row_equals_pandas_over_all_member_ids(aliased: Path, tmp_path: Path) -> None:
    warehouse = duckdb_warehouse(tmp_path / "wh")
    _build(warehouse, aliased, "customers")
    clusters = warehouse.query(
        "select contact_id, person_id from identity.contact_clusters where cluster_size > 1"
    )
    slugs = pd.read_csv(config.DBT_PROJECT_DIR / "seeds" / "product_categories.csv")
    slug_of = dict(zip(slugs["category_name"], slugs["category_slug"], strict=True))
    raw = pd.read_csv(aliased / "transactions.csv", dtype=str, keep_default_na=False)
    raw = raw.merge(clusters, on="contact_id")  # only transactions of merged people
    raw["amount"] = raw["amount"].astype(float)
    raw["day"] = pd.to_datetime(raw["transaction_date"]).dt.date
    order_id = raw["order_id"] if "order_id" in raw else pd.Series("", index=raw.index)
    raw["order"] = order_id.where(order_id != "", raw["id"])
    raw["slug"] = raw["category"].map(slug_of)
    expected = raw.groupby("person_id").agg(
        total_spend=("amount", "sum"), order_count=("order", "nunique"),
        first_purchase_date=("day", "min"), last_purchase_date=("day", "max"),
    )  # fmt: skip
    for slug in slugs["category_slug"]:
        expected[f"{slug}_amount"] = raw[raw["slug"] == slug].groupby("person_id")["amount"].sum()
    expected = expected.fillna(0.0)
    customers = warehouse.query(
        "select * from marts.customers where customer_id in (select person_id from identity.contact_clusters"
        " where cluster_size > 1)"
    ).set_index("customer_id")
    assert len(expected) > 50 and set(expected.index) <= set(customers.index)
    members = clusters.groupby("person_id")["contact_id"].apply(lambda s: sorted(s))
    for person, row in expected.iterrows():
        got = customers.loc[person]
        assert got["source_contact_ids"].split(",") == members[person], person
        assert int(got["order_count"]) == row["order_count"], person
        assert pd.Timestamp(got["first_purchase_date"]).date() == row["first_purchase_date"], person
        assert pd.Timestamp(got["last_purchase_date"]).date() == row["last_purchase_date"], person
        for col in ["total_spend", *[f"{s}_amount" for s in slugs["category_slug"]]]:
            assert float(got[col]) == pytest.approx(row[col], abs=0.005), (person, col)

    # The semantic layer counts people, not contact records: customer_count is the number of
    # people (contacts minus the merged-away records), active_customers (by month) the distinct
    # people with a purchase, from the raw rows with every contact id mapped to its person key.
    client = client_for(warehouse)
    contacts = pd.read_csv(aliased / "contacts.csv", dtype=str, keep_default_na=False)
    person_of = dict(zip(clusters["contact_id"], clusters["person_id"], strict=True))
    people_count = len({person_of.get(c, c) for c in contacts["id"]})
    assert people_count < contacts["id"].nunique()
    counted = client.query(["customer_count"])
    assert int(counted["customer_count"].iloc[0]) == people_count
    lines = pd.read_csv(aliased / "transactions.csv", dtype=str, keep_default_na=False)
    lines["person"] = lines["contact_id"].map(lambda c: person_of.get(c, c))
    lines["month"] = pd.to_datetime(lines["transaction_date"]).dt.to_period("M").dt.to_timestamp()
    expected_active = lines.groupby("month")["person"].nunique()
    active = client.query(["active_customers"], time_grain="month").set_index("metric_time__month")
    assert active["active_customers"].astype(int).to_dict() == expected_active.to_dict()
    assert (lines.groupby("month")["contact_id"].nunique() > expected_active).any()  # merging mattered

    # The partner share: one partner key per person (the person key's), none for a member id.
    salt_file = tmp_path / "salt"
    salt_file.write_text(SHARE_SALT, encoding="utf-8")
    share_vars = json.dumps({"share_build": True, "share_salt_file": str(salt_file), "k_anonymity": 5})
    warehouse.dbt(["build", "--select", "+partner_customers", *MODELS, "--vars", share_vars])
    released = set(warehouse.query("select partner_key from share.partner_customers")["partner_key"])
    people = warehouse.query("select customer_id from marts.customers")["customer_id"]
    others = clusters.loc[clusters["contact_id"] != clusters["person_id"], "contact_id"]
    assert len(released) > 1000 and released <= {partner_key(SHARE_SALT, p) for p in people}
    assert released.isdisjoint({partner_key(SHARE_SALT, c) for c in others})
    assert len(released & {partner_key(SHARE_SALT, p) for p in members.index}) > 50


def test_incremental_transactions_follow_a_changed_person_key(tmp_path: Path) -> None:
    raw = _aliased(tmp_path / "raw", 300, 11, 0.0)
    warehouse = duckdb_warehouse(tmp_path / "wh")
    _build(warehouse, raw, "transactions")
    contacts = pd.read_csv(raw / "contacts.csv", dtype=str, keep_default_na=False)
    buyer = warehouse.query("select customer_id from marts.transactions order by transaction_at limit 1")
    person = contacts[contacts["id"] == buyer["customer_id"][0]].iloc[0].copy()
    # the same person signs up again (same email and birthdate) under an id smaller than any
    person["id"] = "00000000-0000-4000-8000-000000000000"
    # loaded well after the lookback window of every published row: only the key change re-reads them
    latest = pd.to_datetime(contacts["_loaded_at_utc"]).max() + timedelta(days=10)
    person["_loaded_at_utc"] = latest.strftime("%Y-%m-%d %H:%M:%S")
    later = tmp_path / "later"
    later.mkdir()
    pd.concat([contacts, person.to_frame().T]).to_csv(later / "contacts.csv", index=False)
    (later / "transactions.csv").write_bytes((raw / "transactions.csv").read_bytes())

    _build(warehouse, later, "transactions")
    incremental = warehouse.query(f"select {TXN_COLUMNS} from marts.transactions order by transaction_id")
    warehouse.dbt(["run", "--select", "transactions", "--full-refresh"])
    refreshed = warehouse.query(f"select {TXN_COLUMNS} from marts.transactions order by transaction_id")
    old_id = buyer["customer_id"][0]
    assert (refreshed["customer_id"] == person["id"]).sum() > 0  # the key did change
    assert (refreshed["customer_id"] == old_id).sum() == 0
    pd.testing.assert_frame_equal(incremental, refreshed)
