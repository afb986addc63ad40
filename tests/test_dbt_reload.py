"""A reload that replaces the raw tables leaves every published table as a full refresh would.

Load A, `dbt build`; load B (the same extract 6 h older by `_loaded_at_utc`, every 17th
transaction removed, every 13th changed, one contact removed from the CRM export), `dbt build`
(marts.transactions reconciles incrementally); then every table of `marts`, `quality` and
`share` equals a `dbt build --full-refresh` of B on the same warehouse, row for row (numbers
within 1e-9). The removed contact is erased: neither its id nor its hashed forms (SHA-256,
salted partner key) are in any table of marts/quality/share/snapshots, and its raw rows are
counted as `erased_rows`. An emptied fact refills on the next incremental run.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import Warehouse, duckdb_warehouse, pg_warehouse

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)
LOADED_A = NOW + timedelta(minutes=5)
LOADED_B = LOADED_A - timedelta(hours=6)
SALT = "reloadTestSalt0123456789"
COMPARED_SCHEMAS = ("marts", "quality", "share")
ERASURE_SCHEMAS = (*COMPARED_SCHEMAS, "snapshots")


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    """An empty isolated warehouse whose dbt runs also build the share models (salt below)."""
    if request.param == "duckdb":
        warehouse = duckdb_warehouse(tmp_path / "wh")
    else:
        warehouse = pg_warehouse(request.getfixturevalue("fresh_pg_database"), tmp_path / "wh")
        warehouse.env["PGOPTIONS"] = f"-c c360.share_salt={SALT}"
    return warehouse


def _share_vars(directory: Path) -> list[str]:
    salt_file = directory / "share_salt"
    salt_file.write_text(SALT, encoding="utf-8")
    return ["--vars", json.dumps({"share_build": True, "share_salt_file": str(salt_file), "k_anonymity": 5})]


def _write(directory: Path, contacts: pd.DataFrame, transactions: pd.DataFrame, loaded: datetime) -> Path:
    directory.mkdir(parents=True)
    stamp = loaded.strftime("%Y-%m-%d %H:%M:%S.000")
    contacts.assign(_loaded_at_utc=stamp).to_csv(directory / "contacts.csv", index=False)
    transactions.assign(_loaded_at_utc=stamp).to_csv(directory / "transactions.csv", index=False)
    return directory


def _tables(warehouse: Warehouse, schemas: tuple[str, ...]) -> list[str]:
    placeholders = ", ".join(["%s" if warehouse.target == "postgres" else "?"] * len(schemas))
    frame = warehouse.query(
        "select table_schema, table_name from information_schema.tables"
        f" where table_schema in ({placeholders})",
        tuple(schemas),
    )
    # quoted: dbt names stored test failures after their arguments, e.g. "..._False__1__2"
    return sorted(f'"{s}"."{t}"' for s, t in zip(frame["table_schema"], frame["table_name"], strict=True))


def _canonical(value: object) -> object:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        return float(value)  # type: ignore[arg-type]
    return str(pd.Timestamp(value)) if hasattr(value, "year") else str(value)


def _rows(warehouse: Warehouse, table: str) -> list[tuple]:
    frame = warehouse.query(f"select * from {table}")  # table names from information_schema
    columns = sorted(frame.columns)
    rows = [
        tuple(_canonical(v) for v in row) for row in frame[columns].astype(object).itertuples(index=False)
    ]
    return [tuple(columns), *sorted(rows, key=lambda r: tuple("" if v is None else str(v) for v in r))]


def _same(left: list[tuple], right: list[tuple]) -> bool:
    if len(left) != len(right):
        return False
    for a, b in zip(left, right, strict=True):
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) and isinstance(y, float):
                if abs(x - y) > 1e-9:
                    return False
            elif x != y:
                return False
    return True


def _snapshot(warehouse: Warehouse) -> dict[str, list[tuple]]:
    return {table: _rows(warehouse, table) for table in _tables(warehouse, COMPARED_SCHEMAS)}


def test_reload_then_incremental_build_equals_full_refresh(warehouse: Warehouse, tmp_path: Path) -> None:
    from data_gen.generate.generator import generate

    generated = tmp_path / "generated"
    generate(customers=300, seed=23, out=generated, days=120, now=NOW)
    contacts = pd.read_csv(generated / "contacts.csv", dtype=str, keep_default_na=False)
    transactions = pd.read_csv(generated / "transactions.csv", dtype=str, keep_default_na=False)
    contacts = contacts.drop(columns=["_loaded_at_utc"], errors="ignore")
    transactions = transactions.drop(columns=["_loaded_at_utc"], errors="ignore")
    first = _write(tmp_path / "a", contacts, transactions, LOADED_A)
    share_vars = _share_vars(tmp_path)

    warehouse.load(first / "contacts.csv", first / "transactions.csv")
    # load A's build only sets up the incremental state: its data tests run again on B
    warehouse.dbt(["build", "--exclude-resource-type", "test", "unit_test", *share_vars])

    # The erased person: a buyer with one clean contact record of their own.
    buyers = warehouse.query(
        "select customer_id from marts.customers where order_count > 0 and customer_id = contact_id"
        " order by customer_id"
    )["customer_id"].tolist()
    erased_id = next(i for i in buyers if (contacts["id"] == i).sum() == 1)
    erased_raw = int((transactions["contact_id"] == erased_id).sum())
    assert erased_raw > 0

    changed = transactions.copy()
    changed_rows = changed.index[::13]
    changed.loc[changed_rows, "amount"] = [
        f"{float(a) + 1.25:.2f}" if _is_number(a) else a for a in changed.loc[changed_rows, "amount"]
    ]
    changed = changed.drop(index=changed.index[::17])
    second = _write(tmp_path / "b", contacts[contacts["id"] != erased_id], changed, LOADED_B)
    warehouse.load(second / "contacts.csv", second / "transactions.csv")
    warehouse.dbt(["build", *share_vars])
    compiled = warehouse.target_path / "compiled" / "c360" / "models" / "marts" / "transactions.sql"
    assert "published.transaction_id" in compiled.read_text(), "marts.transactions must run incrementally"
    incremental = _snapshot(warehouse)

    conservation = warehouse.query("select * from quality.row_conservation where source = 'web.transactions'")
    assert int(conservation["raw_rows"][0]) == len(changed)
    assert int(conservation["erased_rows"][0]) == int((changed["contact_id"] == erased_id).sum()) > 0
    assert bool(conservation["is_balanced"][0])

    warehouse.dbt(["build", "--full-refresh", *share_vars])
    refreshed = _snapshot(warehouse)
    assert sorted(incremental) == sorted(refreshed)
    assert {'"marts"."transactions"', '"marts"."customers"', '"quality"."row_conservation"'} <= set(refreshed)
    assert any(t.startswith('"share".') for t in refreshed), "the share models were not built"
    differing = [t for t in refreshed if not _same(incremental[t], refreshed[t])]
    assert differing == [], f"incremental build differs from --full-refresh in {differing}"

    # Erasure: no trace of the person in any published, quality, share or snapshot table.
    forms = {
        erased_id,
        hashlib.sha256(erased_id.encode()).hexdigest(),
        hashlib.sha256((SALT + erased_id).encode()).hexdigest(),
    }
    for table in _tables(warehouse, ERASURE_SCHEMAS):
        frame = warehouse.query(f"select * from {table}").astype(str)  # names from information_schema
        hits = (
            frame.apply(lambda column: column.map(lambda v: any(f in str(v) for f in forms))).to_numpy().any()
        )
        assert not hits, f"{table} still holds the erased contact"
    assert '"snapshots"."contacts_snapshot"' in _tables(warehouse, ("snapshots",))

    # An emptied fact refills on the next incremental run.
    before = refreshed['"marts"."transactions"']
    _empty_fact(warehouse)
    warehouse.dbt(["run", "--select", "transactions"])
    assert _same(_rows(warehouse, '"marts"."transactions"'), before)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _empty_fact(warehouse: Warehouse) -> None:
    """Delete every row of marts.transactions (a writer connection of the test's own)."""
    if warehouse.target == "duckdb":
        import duckdb

        con = duckdb.connect(str(warehouse.duckdb_path))
        try:
            con.execute("delete from marts.transactions")
        finally:
            con.close()
        return
    import psycopg2

    assert warehouse.pg is not None
    with psycopg2.connect(warehouse.pg.dsn()) as con, con.cursor() as cur:
        cur.execute("delete from marts.transactions")
    con.close()
