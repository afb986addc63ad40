"""Warehouses for the metric tests: the engines, the generated warehouse of each, and a copy
whose data ends on a chosen day (a partial month), with the models rebuilt by dbt.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import psycopg2
import pytest

from c360 import config
from c360.metrics.client import MetricsClient
from c360.warehouse import query
from tests.conftest import Warehouse, duckdb_warehouse, new_pg_database, pg_warehouse
from tests.metrics_expected import MartFrames, client_for, read_marts

ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
# Rebuilt after the marts' rows past the cut-off day are deleted (what reads marts.transactions).
REBUILT_AFTER_CUTOFF = ("metricflow_time_spine",)


def source_warehouse(request: pytest.FixtureRequest, engine: str) -> Warehouse:
    """The session's generated warehouse on `engine` (duckdb or postgres)."""
    name = "duckdb_warehouse_generated" if engine == "duckdb" else "pg_warehouse_generated"
    return request.getfixturevalue(name)


def built_for(request: pytest.FixtureRequest) -> tuple[MetricsClient, MartFrames]:
    """(metrics client, mart frames) of the generated warehouse of `request.param`."""
    warehouse = source_warehouse(request, request.param)
    return client_for(warehouse), read_marts(warehouse)


def middle_window(frames: MartFrames, days: int) -> tuple[dt.date, dt.date]:
    """A `days`-long date window in the middle of the data's time range."""
    times = frames.transactions["transaction_at"]
    middle = (times.min() + (times.max() - times.min()) / 2).date()
    return middle - dt.timedelta(days=days // 2), middle + dt.timedelta(days=days - days // 2 - 1)


def as_of_date(client: MetricsClient) -> pd.Timestamp:
    """The build's as-of date, read from marts.customers (plain SQL, not the semantic layer)."""
    frame = query(client.warehouse, "select max(as_of_date) as as_of_date from marts.customers")
    return pd.Timestamp(frame["as_of_date"].iloc[0])


@contextmanager
def copy_of(source: Warehouse, directory: Path) -> Iterator[Warehouse]:
    """A writable copy of the built warehouse `source` (a copied DuckDB file in `directory`, or a
    Postgres database made from `source`'s as template, dropped afterwards); `source` is untouched.
    """
    if source.target == "duckdb":
        copy = duckdb_warehouse(directory)
        assert source.duckdb_path is not None and copy.duckdb_path is not None
        shutil.copyfile(source.duckdb_path, copy.duckdb_path)
        copy.raw_dir = source.raw_dir
        yield copy
        return
    assert source.pg is not None
    with new_pg_database("copy", template=source.pg.dbname) as settings:
        copy = pg_warehouse(settings, directory)
        copy.raw_dir = source.raw_dir
        yield copy


def execute(warehouse: Warehouse, statements: Sequence[tuple[str, Sequence[object]]]) -> None:
    """Run write statements (SQL with `%s` placeholders, parameters) on `warehouse` in one transaction."""
    if warehouse.target == "duckdb":
        con = duckdb.connect(str(warehouse.duckdb_path))
        try:
            con.execute("begin")
            for sql, params in statements:
                con.execute(sql.replace("%s", "?"), list(params))
            con.execute("commit")
        finally:
            con.close()
        return
    assert warehouse.pg is not None
    with psycopg2.connect(warehouse.pg.dsn()) as con, con.cursor() as cur:
        for sql, params in statements:
            cur.execute(sql, tuple(params))
    con.close()


@contextmanager
def data_ending_on(
    source: Warehouse, cutoff: dt.date, directory: Path, rebuild: Sequence[str] = REBUILT_AFTER_CUTOFF
) -> Iterator[Warehouse]:
    """A copy of `source` whose transactions end on `cutoff` (later rows deleted from the marts
    the metrics read) with `rebuild` rebuilt by dbt: data that ends in the middle of a month.
    """
    delete = [
        "delete from marts.transactions where transaction_date > %s",
        "delete from marts.daily_category_spend where spend_date > %s",
    ]
    with copy_of(source, directory) as copy:
        execute(copy, [(sql, (cutoff,)) for sql in delete])
        copy.dbt(["run", "--select", *rebuild])
        yield copy


def run_mf(warehouse: Warehouse, target_path: Path, args: list[str], skip_parse: bool = False) -> str:
    """stdout of `python -m c360.metrics.mf <args>` (the `make mf` path) on `warehouse`; asserts exit 0."""
    env = {**os.environ, **warehouse.env, "DBT_TARGET_PATH": str(target_path)}
    if skip_parse:
        env["C360_MF_SKIP_PARSE"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "c360.metrics.mf", *args],
        cwd=config.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout
