"""Load raw CSV/Parquet files into the Spark raw tables `salesforce.contacts` and `web.transactions`.

The files are read by the same reader as the DuckDB/Postgres loader
(`data_gen.load.read.read_batches`: all text, empty field -> NULL, `_source_file`,
`_source_row_number`, errors naming file, row and column), so every engine gets the
same raw rows. Both files are read and validated, then written to `<table>__loading`
tables; only when both are written are the live tables swapped (drop + rename).
Spark has no multi-statement transactions, so the swap itself is a few catalog
operations rather than one atomic commit.

Run as `python -m data_gen.load.spark --contacts F --transactions F`, a separate
process, because the embedded Derby metastore accepts one JVM at a time and dbt
opens its own.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from c360 import config
from data_gen.load.loader import LoadResult
from data_gen.load.read import read_batches
from data_gen.load.spec import CONTACTS, TRANSACTIONS, LoadError, TableSpec

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["LoadError", "load_spark", "main", "read_both", "read_table", "write_spark"]


def read_table(path: Path, spec: TableSpec, loaded_at: str) -> pa.Table:
    """The whole raw file as one Arrow table in contract column order (LoadError if malformed)."""
    return pa.Table.from_batches(list(read_batches(path, spec, loaded_at)), schema=spec.arrow_schema())


def _write_loading(spark: SparkSession, spec: TableSpec, table: pa.Table) -> int:
    """Write the rows to `<schema>.<table>__loading` (parquet) and check the row count."""
    loading = f"{spec.qualified}__loading"
    spark.sql(f"create database if not exists {spec.schema}")
    spark.sql(f"drop table if exists {loading}")
    spark.createDataFrame(table).write.format("parquet").mode("overwrite").saveAsTable(loading)
    written = spark.table(loading).count()
    if written != table.num_rows:
        raise RuntimeError(f"{loading}: wrote {written} rows, expected {table.num_rows}")
    return written


def _swap(spark: SparkSession, spec: TableSpec) -> None:
    """Replace the live table by its `__loading` table."""
    spark.sql(f"drop table if exists {spec.qualified}")
    spark.sql(f"alter table {spec.qualified}__loading rename to {spec.qualified}")


def read_both(contacts: Path, transactions: Path) -> dict[TableSpec, pa.Table]:
    """Read and validate both raw files (LoadError naming file/row/column); no Spark needed."""
    loaded_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return {
        CONTACTS: read_table(Path(contacts), CONTACTS, loaded_at),
        TRANSACTIONS: read_table(Path(transactions), TRANSACTIONS, loaded_at),
    }


def write_spark(spark: SparkSession, tables: dict[TableSpec, pa.Table]) -> dict[str, int]:
    """Write every `__loading` table, then swap them all in; returns rows per `schema.table`."""
    counts = {spec.qualified: _write_loading(spark, spec, table) for spec, table in tables.items()}
    for spec in tables:
        _swap(spark, spec)
    return counts


def load_spark(spark: SparkSession, contacts: Path, transactions: Path) -> LoadResult:
    """Replace both Spark raw tables with the two files; nothing live changes on LoadError."""
    started = time.perf_counter()
    counts = write_spark(spark, read_both(contacts, transactions))
    return _result(counts, started)


def _result(counts: dict[str, int], started: float) -> LoadResult:
    return LoadResult(
        target="spark",
        contacts_rows=counts[CONTACTS.qualified],
        transactions_rows=counts[TRANSACTIONS.qualified],
        seconds=time.perf_counter() - started,
        destination=str(config.spark_dir()),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: load two raw files into the Spark warehouse under `C360_SPARK_DIR`."""
    from c360.spark import SPARK_OUTPUTS, session

    parser = argparse.ArgumentParser(description="Load raw files into the local Spark warehouse.")
    parser.add_argument("--contacts", type=Path, required=True)
    parser.add_argument("--transactions", type=Path, required=True)
    parser.add_argument("--target", choices=SPARK_OUTPUTS, default=None,
                        help="profile target whose Spark settings to use (default: DBT_TARGET, else spark)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        tables = read_both(args.contacts, args.transactions)  # validate before starting the JVM
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    env = config.dbt_env() if args.target is None else {**config.dbt_env(), "DBT_TARGET": args.target}
    with session(env, app_name="c360-load") as spark:
        counts = write_spark(spark, tables)
    print(_result(counts, started).summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
