"""Warehouse access for the Streamlit app.

One `query(wh, sql, params)` helper runs a read-only query on DuckDB or Postgres and
returns a DataFrame. SQL is written with `?` placeholders; for psycopg2 they become
`%s`. User input only ever travels in `params` (bound), never in the SQL text.

DuckDB: every query opens the file read-only and closes it at once, so a `dbt build`
can take the write lock while the app runs. Postgres: a small pool kept with
`st.cache_resource`, read-only sessions.

Every failure a user can fix becomes an `AppDataError` whose message says what to run;
the pages render it with `st.info` instead of a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import psycopg2
import psycopg2.errors
import psycopg2.pool
import streamlit as st

from c360 import config

LOG = logging.getLogger(__name__)
BUILD_HINT = "Run `make data` and then `make build` (same `DBT_TARGET`) to build the warehouse."
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class AppDataError(Exception):
    """A data problem the user can fix; the message says what to run."""


class WarehouseMissing(AppDataError):
    """The warehouse file or database does not exist or cannot be reached."""


class TableMissing(AppDataError):
    """A table the page needs has not been built yet."""


@dataclass(frozen=True)
class Warehouse:
    """Where the app reads from. Hashable, so it is part of every cache key.

    `version` is the DuckDB file's modification time: a rebuild changes it, so cached
    results of the old file are not reused.
    """

    target: str
    duckdb_path: str = ""
    pg: config.PgSettings | None = None
    version: float = 0.0

    def describe(self) -> str:
        """A short human description (no password)."""
        if self.target == "duckdb":
            return f"DuckDB `{self.duckdb_path}`"
        assert self.pg is not None
        return f"Postgres `{self.pg.host}:{self.pg.port}/{self.pg.dbname}`"


def current_warehouse() -> Warehouse:
    """The warehouse chosen by `DBT_TARGET` / `C360_DUCKDB_PATH` / `C360_PG_*`.

    Raises `AppDataError` when the engine is not one the app reads or the DuckDB file is missing.
    """
    try:
        target = config.target()
    except ValueError as exc:
        raise AppDataError(f"{exc}. Set `DBT_TARGET=duckdb` or `DBT_TARGET=postgres`.") from exc
    if target == "postgres":
        return Warehouse(target="postgres", pg=config.pg_settings())
    if target != "duckdb":
        raise AppDataError(
            f"The app reads DuckDB or Postgres, not `{target}`. "
            "Start it with `DBT_TARGET=duckdb make app` or `DBT_TARGET=postgres make app`."
        )
    path = config.duckdb_path()
    if not path.exists():
        raise WarehouseMissing(f"No DuckDB warehouse at `{path}`. {BUILD_HINT}")
    wal = path.with_name(path.name + ".wal")
    version = max(path.stat().st_mtime, wal.stat().st_mtime if wal.exists() else 0.0)
    return Warehouse(target="duckdb", duckdb_path=str(path), version=version)


def quote_identifier(name: str) -> str:
    """Quote an identifier that comes from a fixed allow-list or the catalog (never user text)."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def to_pg_paramstyle(sql: str) -> str:
    """Turn `?` placeholders into psycopg2's `%s` (and escape literal `%`).

    The app's SQL never contains `?` or `%` inside string literals, so a plain replace is exact.
    """
    return sql.replace("%", "%%").replace("?", "%s")


def _decimals_to_float(frame: pd.DataFrame) -> pd.DataFrame:
    """psycopg2 returns `numeric` as Decimal; charts and arithmetic want floats."""
    for column in frame.columns:
        if frame[column].dtype == object and frame[column].map(lambda v: isinstance(v, Decimal)).any():
            frame[column] = frame[column].map(lambda v: float(v) if isinstance(v, Decimal) else v)
    return frame


def _query_duckdb(wh: Warehouse, sql: str, params: Sequence[Any]) -> pd.DataFrame:
    try:
        con = duckdb.connect(wh.duckdb_path, read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise AppDataError(
                "The warehouse is being rebuilt right now (the file is locked); refresh in a moment."
            ) from exc
        raise WarehouseMissing(f"Cannot open `{wh.duckdb_path}`: {_first_line(exc)}. {BUILD_HINT}") from exc
    except duckdb.Error as exc:  # e.g. not a DuckDB file, or opened with another configuration
        raise WarehouseMissing(f"Cannot open `{wh.duckdb_path}`: {_first_line(exc)}. {BUILD_HINT}") from exc
    try:
        return con.execute(sql, list(params)).df()
    except duckdb.CatalogException as exc:
        raise TableMissing(f"A table this page needs is missing ({_first_line(exc)}). {BUILD_HINT}") from exc
    except duckdb.Error as exc:
        LOG.exception("DuckDB query failed")
        raise AppDataError(
            f"The query failed: {_first_line(exc)}. Rebuilding may help: `make build`."
        ) from exc
    finally:
        con.close()


@st.cache_resource(show_spinner=False)
def _pg_pool(settings: config.PgSettings) -> psycopg2.pool.ThreadedConnectionPool:
    """One small connection pool per Postgres settings, shared by all sessions."""
    return psycopg2.pool.ThreadedConnectionPool(0, 4, dsn=settings.dsn(), connect_timeout=5)


def _query_postgres(wh: Warehouse, sql: str, params: Sequence[Any]) -> pd.DataFrame:
    assert wh.pg is not None
    try:
        pool = _pg_pool(wh.pg)
        conn = pool.getconn()
    except psycopg2.Error as exc:
        raise WarehouseMissing(
            f"Cannot connect to Postgres at {wh.pg.host}:{wh.pg.port}/{wh.pg.dbname} "
            f"({_first_line(exc)}). {BUILD_HINT}"
        ) from exc
    broken = False
    try:
        conn.set_session(readonly=True, autocommit=True)
        with conn.cursor() as cur:
            cur.execute(to_pg_paramstyle(sql), tuple(params))
            columns = [d.name for d in cur.description or []]
            rows = cur.fetchall() if cur.description else []
        return _decimals_to_float(pd.DataFrame.from_records(rows, columns=columns))
    except (psycopg2.errors.UndefinedTable, psycopg2.errors.InvalidSchemaName) as exc:
        raise TableMissing(f"A table this page needs is missing ({_first_line(exc)}). {BUILD_HINT}") from exc
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
        broken = True
        raise WarehouseMissing(
            f"Lost the Postgres connection ({_first_line(exc)}); refresh the page."
        ) from exc
    except psycopg2.Error as exc:
        LOG.exception("Postgres query failed")
        raise AppDataError(
            f"The query failed: {_first_line(exc)}. Rebuilding may help: `make build`."
        ) from exc
    finally:
        pool.putconn(conn, close=broken or bool(conn.closed))


def query(wh: Warehouse, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """Run one read-only query with bound `?` parameters and return a DataFrame."""
    if wh.target == "duckdb":
        return _query_duckdb(wh, sql, params)
    return _query_postgres(wh, sql, params)


def table_exists(wh: Warehouse, schema: str, table: str) -> bool:
    """Whether `schema.table` exists (table or view)."""
    frame = query(
        wh,
        "select count(*) as n from information_schema.tables where table_schema = ? and table_name = ?",
        (schema, table),
    )
    return int(frame["n"].iloc[0]) > 0


def tables_in_schema(wh: Warehouse, schema: str) -> list[str]:
    """Names of the tables and views in `schema`, sorted."""
    frame = query(
        wh,
        "select table_name from information_schema.tables where table_schema = ? order by table_name",
        (schema,),
    )
    return [str(v) for v in frame["table_name"]]


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
