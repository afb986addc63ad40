"""Where the data lives and how to read it: the one warehouse layer (docs/architecture.md).

`Warehouse.from_env()` resolves the engine and settings through `c360.config`. `query()` runs
one read-only SELECT with bound `?` parameters (user input never enters the SQL text) and
returns a DataFrame with the same dtypes from both engines; `query_arrow()` the exact Arrow table.
DuckDB is opened read-only per query (a `dbt build` can take the write lock at any moment;
while it holds it the open is retried, then `WarehouseBusyError`). Postgres connections come
from one small pool per settings. Every failure a user can fix is a `WarehouseError`.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd
import psycopg2
import psycopg2.errors
import psycopg2.pool
import pyarrow as pa

from c360 import config

LOG = logging.getLogger(__name__)
ENGINES = ("duckdb", "postgres")
BUILD_HINT = "Run `make data` and then `make build` (same `DBT_TARGET`) to build the warehouse."
DUCKDB_LOCK_RETRIES = 5
DUCKDB_LOCK_WAIT_SECONDS = 0.4
PG_POOL_IDLE = 1  # connections kept open between queries (psycopg2 keeps at most `minconn` idle)
PG_POOL_SIZE = 8  # at most this many at once; extra ones are closed when handed back
# jit=off: the reads are small and interactive. With planner statistics in place, Postgres
# estimated some metric queries above jit_above_cost and spent 20-200 ms compiling a query
# that runs in 50-80 ms (bench/results/metrics_latency.md).
PG_OPTIONS = "-c TimeZone=UTC -c jit=off"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_Result = TypeVar("_Result")


class WarehouseError(Exception):
    """A warehouse problem the user can fix; the message says what to run."""


class WarehouseMissing(WarehouseError):
    """The warehouse file or database does not exist or cannot be reached."""


class WarehouseBusyError(WarehouseError):
    """The DuckDB file stayed locked by a writer (typically a running `dbt build`)."""


class TableMissing(WarehouseError):
    """A table the query needs has not been built yet."""


class QueryFailed(WarehouseError):
    """The engine rejected the query for another reason."""


@dataclass(frozen=True)
class Warehouse:
    """Where the data lives: a DuckDB file or a Postgres database. Hashable (a cache key).

    `version` is the DuckDB file's modification time when it was resolved: a rebuild
    changes it, so results cached for the old file are not reused.
    """

    engine: str
    duckdb_path: Path | None = None
    pg: config.PgSettings | None = None
    version: float = 0.0
    duckdb_settings: config.DuckDbSettings | None = None  # None: from the environment when opened

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Warehouse:
        """The warehouse named by `DBT_TARGET`, `C360_DUCKDB_PATH`, `C360_PG_*` in `env` (default os.environ).

        Raises `WarehouseError` for an engine that is not DuckDB or Postgres.
        """
        try:
            engine = config.target(env)
        except ValueError as exc:
            raise WarehouseError(f"{exc}. Set `DBT_TARGET=duckdb` or `DBT_TARGET=postgres`.") from exc
        return cls.for_engine(engine, env)

    @classmethod
    def for_engine(cls, engine: str, env: Mapping[str, str] | None = None) -> Warehouse:
        """The `engine` (`duckdb` or `postgres`) warehouse with the settings in `env` (default os.environ)."""
        if engine not in ENGINES:
            raise WarehouseError(
                f"Reading the warehouse needs DuckDB or Postgres, not `{engine}`. "
                "Use `DBT_TARGET=duckdb` or `DBT_TARGET=postgres`."
            )
        if engine == "postgres":
            return cls("postgres", pg=config.pg_settings(env))
        path = config.duckdb_path(env)
        settings = config.duckdb_settings(env)
        return cls("duckdb", duckdb_path=path, version=_file_version(path), duckdb_settings=settings)

    def describe(self) -> str:
        """A short human description (no password)."""
        if self.engine == "duckdb":
            return f"DuckDB `{self.duckdb_path}`"
        assert self.pg is not None
        return f"Postgres `{self.pg.host}:{self.pg.port}/{self.pg.dbname}`"

    def duckdb_config(self) -> dict[str, str]:
        """`duckdb.connect(config=...)` for this file: memory limit, threads, spill directory."""
        assert self.duckdb_path is not None
        return (self.duckdb_settings or config.duckdb_settings()).connect_config(self.duckdb_path)

    def require(self) -> Warehouse:
        """This warehouse, or `WarehouseMissing` when its DuckDB file does not exist."""
        if self.engine == "duckdb" and not (self.duckdb_path and self.duckdb_path.exists()):
            raise WarehouseMissing(f"No DuckDB warehouse at `{self.duckdb_path}`. {BUILD_HINT}")
        return self


def _file_version(path: Path) -> float:
    if not path.exists():
        return 0.0
    wal = path.with_name(path.name + ".wal")
    return max(path.stat().st_mtime, wal.stat().st_mtime if wal.exists() else 0.0)


def quote_identifier(name: str) -> str:
    """Quote an identifier that comes from a fixed allow-list or the catalog (never user text)."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def to_pg_paramstyle(sql: str) -> str:
    """`?` placeholders as psycopg2's `%s`, literal `%` escaped (no `?`/`%` inside literals: exact)."""
    return sql.replace("%", "%%").replace("?", "%s")


def normalise(frame: pd.DataFrame, times: bool = False) -> pd.DataFrame:
    """Same dtypes from both engines: float64 for Decimal columns; with `times`, naive UTC datetime64[us]."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object and values.map(lambda v: isinstance(v, Decimal)).any():
            frame[column] = values.map(lambda v: float(v) if isinstance(v, Decimal) else v).astype("float64")
        elif times and _is_time(values):
            converted = pd.to_datetime(values)
            if converted.dt.tz is not None:
                converted = converted.dt.tz_convert("UTC").dt.tz_localize(None)
            frame[column] = converted.astype("datetime64[us]")
    return frame


def _is_time(values: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    non_null = values.dropna()
    return not non_null.empty and hasattr(non_null.iloc[0], "isoformat")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _table_missing(exc: BaseException) -> TableMissing:
    return TableMissing(f"A table the query needs is missing ({_first_line(exc)}). {BUILD_HINT}")


def _query_failed(exc: BaseException) -> QueryFailed:
    LOG.exception("warehouse query failed")
    return QueryFailed(f"The query failed: {_first_line(exc)}. Rebuilding may help: `make build`.")


# --------------------------------------------------------------------------- DuckDB
@contextmanager
def duckdb_reader(
    path: Path, settings: config.DuckDbSettings | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only DuckDB connection, closed on exit; retries while a writer holds the lock.

    The connection has the memory limit, threads and spill directory of `settings` (default
    `c360.config.duckdb_settings()`), the same as dbt's and the loader's.

    Raises `WarehouseMissing` (no such file, not a DuckDB file) or `WarehouseBusyError` (still
    locked after `DUCKDB_LOCK_RETRIES` attempts `DUCKDB_LOCK_WAIT_SECONDS` apart).
    """
    if not path.exists():
        raise WarehouseMissing(f"No DuckDB warehouse at `{path}`. {BUILD_HINT}")
    bounds = (settings or config.duckdb_settings()).connect_config(path)
    for attempt in range(DUCKDB_LOCK_RETRIES):
        try:
            con = duckdb.connect(str(path), read_only=True, config=bounds)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseMissing(f"Cannot open `{path}`: {_first_line(exc)}. {BUILD_HINT}") from exc
            if attempt == DUCKDB_LOCK_RETRIES - 1:
                raise WarehouseBusyError(
                    f"`{path}` is locked by another process: the warehouse is being rebuilt right now "
                    "(is `dbt build` running?); try again in a moment."
                ) from exc
            time.sleep(DUCKDB_LOCK_WAIT_SECONDS)
        except duckdb.Error as exc:  # e.g. not a DuckDB file, or opened with another configuration
            raise WarehouseMissing(f"Cannot open `{path}`: {_first_line(exc)}. {BUILD_HINT}") from exc
    try:
        yield con
    finally:
        con.close()


def _on_duckdb(wh: Warehouse, run: Callable[[duckdb.DuckDBPyConnection], _Result]) -> _Result:
    assert wh.duckdb_path is not None
    with duckdb_reader(wh.duckdb_path, wh.duckdb_settings) as con:
        try:
            return run(con)
        except duckdb.CatalogException as exc:
            raise _table_missing(exc) from exc
        except duckdb.Error as exc:
            raise _query_failed(exc) from exc


# --------------------------------------------------------------------------- Postgres
@functools.lru_cache(maxsize=8)
def _pg_pool(settings: config.PgSettings) -> psycopg2.pool.ThreadedConnectionPool:
    """One small connection pool per Postgres settings, shared by every caller in the process."""
    return psycopg2.pool.ThreadedConnectionPool(
        PG_POOL_IDLE, PG_POOL_SIZE, dsn=settings.dsn(), options=PG_OPTIONS, connect_timeout=5
    )


def _pg_execute(conn: Any, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple]]:
    conn.set_session(readonly=True, autocommit=True)
    with conn.cursor() as cur:
        if params:
            cur.execute(to_pg_paramstyle(sql), tuple(params))
        else:
            cur.execute(sql)
        columns = [d.name for d in cur.description or ()]
        return columns, (cur.fetchall() if cur.description else [])


def _pg_rows(settings: config.PgSettings, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of one read-only statement on a pooled connection.

    A lost connection (e.g. the idle pooled one after a server restart) is closed and the
    statement tried once more on a new one; it is a read, so running it twice is harmless.
    """
    where = f"{settings.host}:{settings.port}/{settings.dbname}"
    for attempt in (1, 2):
        try:
            pool = _pg_pool(settings)
            conn = pool.getconn()
        except psycopg2.Error as exc:
            message = f"Cannot connect to Postgres at {where} ({_first_line(exc)}). {BUILD_HINT}"
            raise WarehouseMissing(message) from exc
        broken = False
        try:
            return _pg_execute(conn, sql, params)
        except (psycopg2.errors.UndefinedTable, psycopg2.errors.InvalidSchemaName) as exc:
            raise _table_missing(exc) from exc
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            broken = True
            if attempt == 1:
                continue
            message = f"Lost the Postgres connection to {where} ({_first_line(exc)}); try again."
            raise WarehouseMissing(message) from exc
        except psycopg2.Error as exc:
            raise _query_failed(exc) from exc
        finally:
            pool.putconn(conn, close=broken or bool(conn.closed))
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- public reads
def query(wh: Warehouse, sql: str, params: Sequence[Any] = (), times: bool = False) -> pd.DataFrame:
    """Run one read-only query with bound `?` parameters; a normalised DataFrame (see `normalise`)."""
    if wh.engine == "duckdb":
        assert wh.duckdb_path is not None
        frame = _on_duckdb(wh, lambda con: con.execute(sql, list(params)).df())
    elif wh.engine == "postgres":
        assert wh.pg is not None
        columns, rows = _pg_rows(wh.pg, sql, params)
        frame = pd.DataFrame.from_records(rows, columns=columns)
    else:
        raise WarehouseError(f"Reading the warehouse needs DuckDB or Postgres, not `{wh.engine}`.")
    return normalise(frame, times=times)


def query_arrow(wh: Warehouse, sql: str, params: Sequence[Any] = ()) -> pa.Table:
    """Run one read-only query with bound `?` parameters; the exact Arrow table (decimals kept)."""
    if wh.engine == "duckdb":
        assert wh.duckdb_path is not None
        bound = list(params) or None
        return _on_duckdb(wh, lambda con: con.sql(sql, params=bound).to_arrow_table())
    if wh.engine != "postgres":
        raise WarehouseError(f"Reading the warehouse needs DuckDB or Postgres, not `{wh.engine}`.")
    assert wh.pg is not None
    columns, rows = _pg_rows(wh.pg, sql, params)
    if not rows:
        return pa.table({name: pa.array([], pa.string()) for name in columns})
    return pa.Table.from_pylist([dict(zip(columns, row, strict=True)) for row in rows])


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
