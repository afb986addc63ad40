"""Read one raw file (CSV or Parquet) into validated, row-numbered Arrow batches of text.

Rules (docs/CONTRACT.md, "Raw layer", and the README section of the loader):

- Only a regular file is read (a symbolic link, a directory, a FIFO are refused), its kind
  found by magic bytes: Parquet, or CSV plain / gzip / bz2 / zstd (`data_gen.load.source`).
- CSV: UTF-8 (a leading BOM is ignored), comma separated, `"` quotes with `""` as the
  escaped quote, quoted values may span lines, records end at `\n`, `\r\n` or a lone `\r`,
  blank lines are ignored. Every value is kept as text exactly as written (spaces
  included); an empty field, quoted or not, is NULL.
- Header names are trimmed of surrounding spaces and matched case-sensitively, in any order.
- Parquet: typed columns become the contract's text forms (`data_gen.load.typed_text`).
- Limits (`data_gen.load.spec`): a value up to MAX_FIELD_BYTES, a CSV record up to
  MAX_RECORD_BYTES, a header line up to MAX_HEADER_BYTES, at most MAX_COLUMNS columns.
- `_source_row_number` is the 1-based data row (header excluded) in file order.

The fast path is pyarrow's streaming CSV reader. When it rejects a file, a slower pure
Python pass over the same file (`data_gen.load.scan`) finds the first bad line so the
error can name it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from data_gen.load.scan import locate_csv_problem
from data_gen.load.source import check_regular_file, describe, open_stream, read_csv_header, sniff
from data_gen.load.spec import (
    LOADED_AT,
    MAX_FIELD_BYTES,
    MAX_RECORD_BYTES,
    LoadError,
    TableSpec,
    check_header,
    quoted_name,
)
from data_gen.load.typed_text import as_text

PARQUET_BATCH_ROWS = 256_000

Progress = Callable[[int, bool], None]


def read_batches(
    path: Path, spec: TableSpec, loaded_at: str, progress: Progress | None = None
) -> Iterator[pa.RecordBatch]:
    """Yield batches with `spec.arrow_schema()`; raise LoadError on any structural problem.

    `loaded_at` fills `_loaded_at_utc` when the file has no such column; an optional column the
    file lacks (`spec.optional_columns`, e.g. `order_id`) is NULL in every row.
    The generator raises LoadError("... no data rows") after the last batch if there were none.
    """
    check_regular_file(path)
    if path.stat().st_size == 0:
        raise LoadError(f"{path.name}: file is empty (0 bytes); expected a header and data rows")
    kind, codec = sniff(path)
    source = _read_parquet(path, spec) if kind == "parquet" else _read_csv(path, spec, codec)
    rows = 0
    if progress is not None:
        progress(0, False)
    for table in source:
        batch = _finish(path.name, table, spec, loaded_at, first_row=rows + 1)
        rows += batch.num_rows
        if batch.num_rows:
            yield batch
            if progress is not None:
                progress(rows, False)
    if rows == 0:
        raise LoadError(f"{path.name}: has a header but no data rows")
    if progress is not None:
        progress(rows, True)


def _read_csv(path: Path, spec: TableSpec, codec: str | None) -> Iterator[pa.Table]:
    names = read_csv_header(path, codec)
    check_header(path.name, names, spec)
    try:
        with open_stream(path, codec) as stream:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=MAX_RECORD_BYTES),
                parse_options=pacsv.ParseOptions(
                    delimiter=",", quote_char='"', double_quote=True, escape_char=False,
                    newlines_in_values=True, ignore_empty_lines=True,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in names},
                    null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
                ),
            )
            for batch in reader:
                yield pa.Table.from_batches([batch])
    except (pa.ArrowException, OSError) as exc:
        locate_csv_problem(path, codec, names)
        reason = str(exc).split(":", 2)[:2]  # Arrow may quote the row after a second colon
        raise LoadError(f"{describe(path, codec)}: cannot be read as CSV: {':'.join(reason)}") from exc


def _read_parquet(path: Path, spec: TableSpec) -> Iterator[pa.Table]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(f"{path.name}: not a readable Parquet file: {exc}") from exc
    names = [name.strip() for name in parquet.schema_arrow.names]
    check_header(path.name, names, spec)
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, use_threads=True):
            yield pa.Table.from_batches([batch]).rename_columns(names)
    except pa.ArrowException as exc:
        raise LoadError(f"{path.name}: Parquet data cannot be read: {exc}") from exc


def _finish(
    file_name: str, table: pa.Table, spec: TableSpec, loaded_at: str, first_row: int
) -> pa.RecordBatch:
    """Put a chunk into contract column order, add lineage, reject NUL characters and huge values."""
    rows = table.num_rows
    arrays: list[pa.Array] = []
    for name in spec.file_columns:
        if name == LOADED_AT and name not in table.column_names:
            arrays.append(pa.repeat(pa.scalar(loaded_at, pa.string()), rows))
            continue
        if name in spec.optional_columns and name not in table.column_names:
            arrays.append(pa.nulls(rows, pa.string()))
            continue
        column = as_text(file_name, table.column(name), name, first_row, name in spec.date_columns)
        has_nul = pc.match_substring(column, "\x00")
        if pc.any(has_nul).as_py():
            offset = pc.index(has_nul, True).as_py()
            raise LoadError(
                f"{file_name}: column {quoted_name(name)}, data row {first_row + offset}: "
                "contains a NUL character, which a text column cannot hold"
            )
        too_large = pc.greater(pc.binary_length(column), MAX_FIELD_BYTES)
        if pc.any(too_large).as_py():
            offset = pc.index(too_large, True).as_py()
            raise LoadError(
                f"{file_name}: column {quoted_name(name)}, data row {first_row + offset}: value is "
                f"{pc.binary_length(column)[offset].as_py():,} bytes, more than the "
                f"{MAX_FIELD_BYTES // (1 << 20)} MiB limit of a field"
            )
        arrays.append(column.combine_chunks())
    arrays.append(pa.repeat(pa.scalar(file_name, pa.string()), rows))
    arrays.append(pa.arange(first_row, first_row + rows).cast(pa.int64()))
    return pa.RecordBatch.from_arrays(arrays, schema=spec.arrow_schema())
