"""Write row-numbered Arrow batches into the raw tables of DuckDB or Postgres, atomically.

Both writers first drop every `__loading` table or view a stopped load left in the raw
schemas (a killed process cannot clean up, and those tables hold raw PII), then fill
`<schema>.<table>__loading` for every table, check the row counts, then swap all tables
in ONE transaction; any failure leaves the live tables untouched and no `__loading` table
behind. Identifiers come only from the fixed TableSpec constants and, for leftovers, from
the catalog (quoted).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import psycopg2
import psycopg2.sql
import pyarrow as pa
import pyarrow.csv as pacsv

from c360.config import PgSettings
from c360.warehouse import Warehouse
from data_gen.load.spec import LoadError, TableSpec

BatchSource = tuple[TableSpec, Callable[[], Iterator[pa.RecordBatch]]]
LOADING_SUFFIX = "__loading"
LEFTOVERS_SQL = """
    select table_schema, table_name, table_type
    from information_schema.tables
    where table_schema in ({schemas}) and right(table_name, {length}) = '{suffix}'
    order by 1, 2
"""


class _Guarded:
    """Wrap a batch iterator so a LoadError raised inside a database driver is kept intact."""

    def __init__(self, batches: Iterator[pa.RecordBatch]) -> None:
        self.batches = batches
        self.error: LoadError | None = None
        self.rows = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self.batches:
                self.rows += batch.num_rows
                yield batch
        except LoadError as exc:
            self.error = exc
            raise


def write_duckdb(path: Path, sources: list[BatchSource], settings: dict[str, str]) -> dict[str, int]:
    """Load every source into DuckDB at `path`; returns rows per qualified table name.

    The file is opened only for the duration of the load (DuckDB allows one writer), with the
    memory limit, threads and spill directory in `settings` (`Warehouse.duckdb_config()`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with duckdb.connect(str(path), config=settings) as con:
        con.execute("set enable_progress_bar = false")  # the loader prints its own progress
        _drop_stale_duckdb(con, sources)
        try:
            for spec, make_batches in sources:
                con.execute(f"create schema if not exists {spec.schema}")
                guarded = _Guarded(make_batches())
                reader = pa.RecordBatchReader.from_batches(spec.arrow_schema(), iter(guarded))
                con.register("c360_raw_batches", reader)
                try:
                    con.execute(
                        f"create or replace table {spec.qualified}__loading as select * from c360_raw_batches"
                    )
                except duckdb.Error:
                    if guarded.error is not None:
                        raise guarded.error from None
                    raise
                finally:
                    con.unregister("c360_raw_batches")
                loaded = con.execute(f"select count(*) from {spec.qualified}__loading").fetchone()
                _check_count(spec, guarded.rows, loaded[0] if loaded else -1)
                counts[spec.qualified] = guarded.rows
            con.execute("begin transaction")
            for spec, _ in sources:
                con.execute(f"drop table if exists {spec.qualified}")
                con.execute(f"alter table {spec.qualified}__loading rename to {spec.table}")
            con.execute("commit")
        except BaseException:
            _drop_duckdb_leftovers(con, sources)
            raise
    return counts


def _raw_schemas(sources: list[BatchSource]) -> list[str]:
    """The raw schemas the sources write to, each once."""
    return sorted({spec.schema for spec, _ in sources})


def _leftovers_sql(schema_count: int, placeholder: str) -> str:
    """The catalog query for `__loading` objects in `schema_count` bound schemas."""
    return LEFTOVERS_SQL.format(
        schemas=", ".join([placeholder] * schema_count), length=len(LOADING_SUFFIX), suffix=LOADING_SUFFIX
    )


def _drop_stale_duckdb(con: duckdb.DuckDBPyConnection, sources: list[BatchSource]) -> None:
    """Drop every `__loading` table/view in the raw schemas (left by a stopped load)."""
    schemas = _raw_schemas(sources)
    rows = con.execute(_leftovers_sql(len(schemas), "?"), schemas).fetchall()
    for schema, name, kind in rows:
        quoted = ".".join('"' + part.replace('"', '""') + '"' for part in (schema, name))
        con.execute(f"drop {'view' if kind == 'VIEW' else 'table'} if exists {quoted}")


def _drop_stale_postgres(con: psycopg2.extensions.connection, sources: list[BatchSource]) -> None:
    """Drop every `__loading` table/view in the raw schemas, committed before the load starts."""
    schemas = _raw_schemas(sources)
    with con, con.cursor() as cur:
        cur.execute(_leftovers_sql(len(schemas), "%s"), schemas)
        for schema, name, kind in cur.fetchall():
            drop = "drop view if exists {}" if kind == "VIEW" else "drop table if exists {}"
            statement = psycopg2.sql.SQL(drop)
            cur.execute(statement.format(psycopg2.sql.Identifier(schema, name)))


def _drop_duckdb_leftovers(con: duckdb.DuckDBPyConnection, sources: list[BatchSource]) -> None:
    """Roll back an open swap and drop every `__loading` table (live tables stay as they were)."""
    try:
        con.execute("rollback")
    except duckdb.Error:
        pass  # no transaction was open
    for spec, _ in sources:
        con.execute(f"drop table if exists {spec.qualified}__loading")


def _check_count(spec: TableSpec, streamed: int, loaded: int) -> None:
    if streamed != loaded:
        raise LoadError(
            f"{spec.qualified}: read {streamed} rows from the file but {loaded} reached the table"
        )


class _CsvStream(io.RawIOBase):
    """A file-like CSV byte stream over Arrow batches, for psycopg2's copy_expert."""

    def __init__(self, batches: Iterator[pa.RecordBatch]) -> None:
        super().__init__()
        self.batches = batches
        self.buffer = b""
        self.offset = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of CSV (no header; NULL is an unquoted empty field)."""
        while size < 0 or len(self.buffer) - self.offset < size:
            batch = next(self.batches, None)
            if batch is None:
                break
            sink = io.BytesIO()
            pacsv.write_csv(batch, sink, pacsv.WriteOptions(include_header=False))
            self.buffer = self.buffer[self.offset :] + sink.getvalue()
            self.offset = 0
        end = len(self.buffer) if size < 0 else self.offset + size
        chunk = self.buffer[self.offset : end]
        self.offset += len(chunk)
        return chunk


def write_postgres(settings: PgSettings, sources: list[BatchSource]) -> dict[str, int]:
    """Load every source into Postgres in one transaction; returns rows per qualified table name."""
    counts: dict[str, int] = {}
    try:
        con = psycopg2.connect(settings.dsn())
    except psycopg2.Error as exc:
        where = f"{settings.host}:{settings.port}/{settings.dbname}"
        raise LoadError(f"cannot connect to Postgres {where}: {exc}") from exc
    try:
        _drop_stale_postgres(con, sources)
        with con, con.cursor() as cur:
            for spec, make_batches in sources:
                cur.execute(f"create schema if not exists {spec.schema}")
                cur.execute(f"drop table if exists {spec.qualified}__loading")
                column_list = ", ".join(spec.output_columns)
                types = ", ".join(
                    f"{name} {'bigint' if name == spec.output_columns[-1] else 'text'}"
                    for name in spec.output_columns
                )
                cur.execute(f"create table {spec.qualified}__loading ({types})")
                guarded = _Guarded(make_batches())
                try:
                    cur.copy_expert(
                        f"copy {spec.qualified}__loading ({column_list}) from stdin with (format csv)",
                        _CsvStream(iter(guarded)),
                        size=1 << 20,
                    )
                except (psycopg2.Error, LoadError):
                    if guarded.error is not None:
                        raise guarded.error from None
                    raise
                cur.execute(f"select count(*) from {spec.qualified}__loading")
                loaded = cur.fetchone()
                _check_count(spec, guarded.rows, loaded[0] if loaded else -1)
                counts[spec.qualified] = guarded.rows
            for spec, _ in sources:
                _swap_postgres(cur, spec)
    finally:
        con.close()
    return counts


def _swap_postgres(cur: psycopg2.extensions.cursor, spec: TableSpec) -> None:
    """Replace the live table with `__loading` (inside the caller's transaction).

    Postgres views are bound to the table itself, so a table that dbt views depend on
    cannot be dropped; it is refilled in place instead (still in the same transaction).
    """
    cur.execute(
        """
        select count(*)
        from pg_depend as dep
        inner join pg_rewrite as rule on dep.objid = rule.oid
        where dep.refobjid = to_regclass(%s) and rule.ev_class <> dep.refobjid
        """,
        (spec.qualified,),
    )
    row = cur.fetchone()
    if row and row[0]:
        columns = ", ".join(spec.output_columns)
        for name in spec.optional_columns:  # a table loaded before the column existed gains it
            cur.execute(f"alter table {spec.qualified} add column if not exists {name} text")
        cur.execute(f"truncate table {spec.qualified}")
        cur.execute(
            f"insert into {spec.qualified} ({columns}) select {columns} from {spec.qualified}__loading"
        )
        cur.execute(f"drop table {spec.qualified}__loading")
    else:
        cur.execute(f"drop table if exists {spec.qualified}")
        cur.execute(f"alter table {spec.qualified}__loading rename to {spec.table}")


def write_warehouse(warehouse: Warehouse, sources: list[BatchSource]) -> dict[str, int]:
    """Load every source into `warehouse` (its own read-write path, same settings type as the readers)."""
    if warehouse.engine == "duckdb":
        assert warehouse.duckdb_path is not None
        return write_duckdb(warehouse.duckdb_path, sources, warehouse.duckdb_config())
    assert warehouse.pg is not None
    return write_postgres(warehouse.pg, sources)
