"""Run generated metric SQL on a short-lived connection and normalise the result.

DuckDB allows one writer process, so the file is opened read-only for one query and
closed at once: the app never blocks a `dbt build`. Postgres gets a fresh psycopg2
connection in UTC per query (connections are cheap next to a Streamlit rerun).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import psycopg2

from c360.config import PgSettings

DUCKDB_LOCK_RETRIES = 5
DUCKDB_LOCK_WAIT_SECONDS = 0.4


class WarehouseBusyError(RuntimeError):
    """The DuckDB file is locked by a writer (typically a running dbt build)."""


@dataclass(frozen=True)
class Warehouse:
    """Where to run SQL: a DuckDB file or a Postgres database."""

    engine: str
    duckdb_path: Path | None = None
    pg: PgSettings | None = None

    def describe(self) -> str:
        """Human-readable location for error messages (no password)."""
        if self.engine == "duckdb":
            return f"DuckDB file {self.duckdb_path}"
        assert self.pg is not None
        return f"Postgres {self.pg.user}@{self.pg.host}:{self.pg.port}/{self.pg.dbname}"


def _run_duckdb(path: Path, sql: str) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"DuckDB warehouse {path} does not exist: run `make data build` first")
    for attempt in range(DUCKDB_LOCK_RETRIES):
        try:
            connection = duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if attempt == DUCKDB_LOCK_RETRIES - 1:
                raise WarehouseBusyError(
                    f"{path} is locked by another process (is dbt building?); try again shortly"
                ) from exc
            time.sleep(DUCKDB_LOCK_WAIT_SECONDS)
            continue
        try:
            return connection.execute(sql).df()
        finally:
            connection.close()
    raise AssertionError("unreachable")


def _run_postgres(settings: PgSettings, sql: str) -> pd.DataFrame:
    # jit=off: metric queries are small and interactive. With planner statistics in place,
    # Postgres estimated some of them (e.g. a spend share by month and segment) above
    # jit_above_cost and spent 20-200 ms compiling for a query that runs in 50-80 ms
    # (bench/results/metrics_latency.md).
    connection = psycopg2.connect(
        settings.dsn(), options="-c TimeZone=UTC -c jit=off", connect_timeout=10
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            columns = [d.name for d in cursor.description or ()]
            rows = cursor.fetchall()
    finally:
        connection.rollback()
        connection.close()
    return pd.DataFrame.from_records(rows, columns=columns)


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Same dtypes from both engines: floats for decimals, naive datetime64 for dates and times."""
    for column in frame.columns:
        non_null = frame[column].dropna()
        if non_null.empty:
            continue
        sample = non_null.iloc[0]
        if isinstance(sample, Decimal):
            frame[column] = pd.to_numeric(frame[column].astype(object), errors="raise").astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(frame[column]) or hasattr(sample, "isoformat"):
            converted = pd.to_datetime(frame[column])
            if converted.dt.tz is not None:
                converted = converted.dt.tz_convert("UTC").dt.tz_localize(None)
            frame[column] = converted.astype("datetime64[us]")
    return frame


def run_sql(warehouse: Warehouse, sql: str) -> pd.DataFrame:
    """Execute one generated SELECT and return a normalised DataFrame."""
    if warehouse.engine == "duckdb":
        assert warehouse.duckdb_path is not None
        frame = _run_duckdb(warehouse.duckdb_path, sql)
    elif warehouse.engine == "postgres":
        assert warehouse.pg is not None
        frame = _run_postgres(warehouse.pg, sql)
    else:
        raise ValueError(f"unsupported engine {warehouse.engine!r}")
    return _normalise(frame)
