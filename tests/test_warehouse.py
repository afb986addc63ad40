"""c360.warehouse on DuckDB and Postgres: bound parameters, read-only access, lock retries, types.

Each engine gets a small table written here with a plain driver connection; expected values
are recomputed from the inserted rows (or read back with a plain connection), never taken
from the layer under test.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import psycopg2
import pytest

from c360 import config
from c360 import warehouse as layer
from c360.warehouse import (
    QueryFailed,
    TableMissing,
    Warehouse,
    WarehouseBusyError,
    WarehouseError,
    WarehouseMissing,
    query,
    query_arrow,
    table_exists,
)

HOSTILE = "x'); drop table shop.items; select ('%s ? -- \" ;"
ROWS = [
    (1, "plain", Decimal("10.25"), "2024-03-01 10:00:00+05:00"),
    (2, HOSTILE, Decimal("0.10"), "2024-03-02 23:30:00+00:00"),
    (3, "x' or '1'='1", Decimal("1234567.89"), "2024-03-03 00:15:00-03:00"),
]
CREATE = (
    "create schema shop",
    "create table shop.items (id integer, name text, amount decimal(12, 2), sold_at timestamptz)",
)
HOLDER = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
    "time.sleep(float(sys.argv[2])); c.close(); print('released', flush=True); time.sleep(30)"
)


def _duckdb_file(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        for statement in CREATE:
            con.execute(statement)
        con.executemany("insert into shop.items values (?, ?, ?, cast(? as timestamptz))", ROWS)
    return path


@pytest.fixture
def duck(tmp_path: Path) -> Warehouse:
    """A DuckDB file with shop.items (ROWS)."""
    return Warehouse("duckdb", duckdb_path=_duckdb_file(tmp_path / "w.duckdb"))


@pytest.fixture
def pg(fresh_pg_database: config.PgSettings) -> Iterator[Warehouse]:
    """A fresh Postgres database with shop.items (ROWS)."""
    with psycopg2.connect(fresh_pg_database.dsn()) as con, con.cursor() as cur:
        for statement in CREATE:
            cur.execute(statement)
        cur.executemany("insert into shop.items values (%s, %s, %s, %s)", ROWS)
    con.close()
    yield Warehouse("postgres", pg=fresh_pg_database)


@pytest.fixture(params=["duckdb", "postgres"])
def wh(request: pytest.FixtureRequest) -> Warehouse:
    """Each engine in turn."""
    return request.getfixturevalue("duck" if request.param == "duckdb" else "pg")


def _plain_count(wh: Warehouse) -> int:
    """Rows of shop.items read with a plain driver connection (not the layer under test)."""
    if wh.engine == "duckdb":
        with duckdb.connect(str(wh.duckdb_path), read_only=True) as con:
            return int(con.execute("select count(*) from shop.items").fetchone()[0])
    assert wh.pg is not None
    with psycopg2.connect(wh.pg.dsn()) as con, con.cursor() as cur:
        cur.execute("select count(*) from shop.items")
        (count,) = cur.fetchone()
    con.close()
    return int(count)


# ---------- bound parameters ----------


@pytest.mark.parametrize("text", [HOSTILE, "x' or '1'='1", "plain"])
def test_hostile_strings_are_values_not_sql(wh: Warehouse, text: str) -> None:
    expected = [row[0] for row in ROWS if row[1] == text]
    frame = query(wh, "select id from shop.items where name = ? order by id", (text,))
    assert frame["id"].tolist() == expected
    echoed = query(wh, "select ? as echoed, 100 % 7 as remainder", (text,))
    assert echoed["echoed"].iloc[0] == text
    assert int(echoed["remainder"].iloc[0]) == 100 % 7
    assert _plain_count(wh) == len(ROWS)
    assert table_exists(wh, "shop", "items")


def test_no_rows_for_an_injection_that_would_match_everything(wh: Warehouse) -> None:
    frame = query(wh, "select id from shop.items where name = ?", ("nothing' or 'a'='a",))
    assert frame.empty


def test_sessions_are_read_only(wh: Warehouse) -> None:
    with pytest.raises(QueryFailed):
        query(wh, "delete from shop.items where id = ?", (1,))
    assert _plain_count(wh) == len(ROWS)


def test_missing_table_and_missing_file(wh: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(TableMissing, match="make build"):
        query(wh, "select * from shop.nothing_here")
    gone = Warehouse("duckdb", duckdb_path=tmp_path / "absent.duckdb")
    with pytest.raises(WarehouseMissing, match="No DuckDB warehouse"):
        query(gone, "select 1")
    assert not gone.duckdb_path.exists()  # a read never creates the file


# ---------- types ----------


def test_decimals_become_floats_and_times_naive_utc(wh: Warehouse) -> None:
    frame = query(wh, "select id, amount, sold_at from shop.items order by id", times=True)
    assert frame["amount"].dtype == "float64"
    assert frame["amount"].tolist() == [float(row[2]) for row in ROWS]
    expected_times = [pd.Timestamp(row[3]).tz_convert("UTC").tz_localize(None) for row in ROWS]
    assert frame["sold_at"].dtype == "datetime64[us]"
    assert frame["sold_at"].tolist() == expected_times
    total = query(wh, "select sum(amount) as total from shop.items")
    assert total["total"].dtype == "float64"
    assert total["total"].iloc[0] == pytest.approx(float(sum(row[2] for row in ROWS)))


def test_normalise_converts_decimal_objects_with_nulls() -> None:
    frame = pd.DataFrame({"a": [Decimal("1.50"), None, Decimal("-2")], "b": ["x", "y", "z"]})
    out = layer.normalise(frame)
    assert out["a"].dtype == "float64"
    assert out["a"].iloc[0] == 1.5 and pd.isna(out["a"].iloc[1]) and out["a"].iloc[2] == -2.0
    assert out["b"].tolist() == ["x", "y", "z"]


def test_arrow_reads_keep_exact_decimals(wh: Warehouse) -> None:
    table = query_arrow(wh, "select amount from shop.items where id = ?", (3,))
    assert table.column("amount").to_pylist() == [ROWS[2][2]]


# ---------- DuckDB lock ----------


@contextmanager
def _held(wh: Warehouse, seconds: float, retries: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Another process holds the DuckDB write lock for `seconds`; the layer retries `retries` times."""
    monkeypatch.setattr(layer, "DUCKDB_LOCK_RETRIES", retries)
    monkeypatch.setattr(layer, "DUCKDB_LOCK_WAIT_SECONDS", 0.2)
    command = [sys.executable, "-c", HOLDER, str(wh.duckdb_path), str(seconds)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
            yield
        finally:
            proc.kill()


def test_locked_duckdb_retries_then_says_so(duck: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    with _held(duck, 60, retries=3, monkeypatch=monkeypatch):
        started = time.perf_counter()
        with pytest.raises(WarehouseBusyError, match="locked by another process") as caught:
            query(duck, "select count(*) as n from shop.items")
        assert time.perf_counter() - started >= 2 * 0.2  # two waits between three attempts
        assert "being rebuilt" in str(caught.value)


def test_locked_duckdb_succeeds_once_the_writer_lets_go(
    duck: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _held(duck, 1.0, retries=50, monkeypatch=monkeypatch):
        started = time.perf_counter()
        frame = query(duck, "select count(*) as n from shop.items")
        assert time.perf_counter() - started >= 0.2  # the first attempt met the lock
        assert int(frame["n"].iloc[0]) == len(ROWS)


# ---------- settings and Postgres connection reuse ----------


def test_from_env_reads_the_given_mapping(tmp_path: Path) -> None:
    duck = Warehouse.from_env({"DBT_TARGET": "duckdb", "C360_DUCKDB_PATH": str(tmp_path / "w.duckdb")})
    assert duck.engine == "duckdb" and duck.duckdb_path == tmp_path / "w.duckdb" and duck.pg is None
    env = {"DBT_TARGET": "Postgres", "C360_PG_HOST": "db.example", "C360_PG_PORT": "6543",
           "C360_PG_USER": "u", "C360_PG_PASSWORD": "secret", "C360_PG_DB": "d"}
    pg = Warehouse.from_env(env)
    assert pg.pg == config.PgSettings("db.example", 6543, "u", "secret", "d")
    assert "secret" not in pg.describe()
    with pytest.raises(WarehouseError, match="DBT_TARGET=duckdb"):
        Warehouse.from_env({"DBT_TARGET": "spark"})
    with pytest.raises(WarehouseMissing):
        duck.require()


def test_postgres_connections_are_reused(pg: Warehouse) -> None:
    first = query(pg, "select pg_backend_pid() as pid")["pid"].iloc[0]
    second = query(pg, "select pg_backend_pid() as pid")["pid"].iloc[0]
    assert first == second
    zone = query(pg, "select current_setting('TimeZone') as tz")["tz"].iloc[0]
    assert zone == "UTC"


def test_postgres_replaces_a_pooled_connection_the_server_closed(pg: Warehouse) -> None:
    assert pg.pg is not None
    first = int(query(pg, "select pg_backend_pid() as pid")["pid"].iloc[0])
    with psycopg2.connect(pg.pg.dsn()) as con, con.cursor() as cur:
        cur.execute("select pg_terminate_backend(%s)", (first,))
        (terminated,) = cur.fetchone()
    con.close()
    assert terminated
    frame = query(pg, "select pg_backend_pid() as pid, count(*) as n from shop.items")
    assert int(frame["pid"].iloc[0]) != first
    assert int(frame["n"].iloc[0]) == len(ROWS)
