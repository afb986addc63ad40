"""Read one raw file (CSV or Parquet) into validated, row-numbered Arrow batches of text.

Rules (documented in the README section of the loader):

- CSV: UTF-8 (a leading BOM is ignored), comma separated, `"` quotes with `""` as the
  escaped quote, quoted values may span lines, blank lines are ignored. Every value is
  kept as text exactly as written (spaces included); an empty field, quoted or not, is NULL.
- Header names are trimmed of surrounding spaces and matched case-sensitively, in any order.
- Parquet: every column is cast to text with Arrow's cast.
- `_source_row_number` is the 1-based data row (header excluded) in file order.

The fast path is pyarrow's streaming CSV reader. When it rejects a file, a slower pure
Python pass over the same file finds the first bad line so the error can name it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from data_gen.load.spec import LOADED_AT, LoadError, TableSpec, check_header

PARQUET_MAGIC = b"PAR1"
BLOCK_SIZE = 8 << 20
PARQUET_BATCH_ROWS = 256_000

Progress = Callable[[int, bool], None]


def is_parquet(path: Path) -> bool:
    """True when the file starts with the Parquet magic bytes (the suffix is not trusted)."""
    with path.open("rb") as handle:
        return handle.read(4) == PARQUET_MAGIC


def read_batches(
    path: Path, spec: TableSpec, loaded_at: str, progress: Progress | None = None
) -> Iterator[pa.RecordBatch]:
    """Yield batches with `spec.arrow_schema()`; raise LoadError on any structural problem.

    `loaded_at` fills `_loaded_at_utc` when the file has no such column.
    The generator raises LoadError("... no data rows") after the last batch if there were none.
    """
    if not path.is_file():
        raise LoadError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise LoadError(f"{path.name}: file is empty (0 bytes); expected a header and data rows")
    source = _read_parquet(path, spec) if is_parquet(path) else _read_csv(path, spec)
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


def _read_csv_header(path: Path) -> list[str]:
    """The trimmed header names of a CSV file (its first line)."""
    with path.open("rb") as handle:
        raw = handle.readline()
    try:
        line = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path.name}: line 1 (header) is not valid UTF-8 (byte {exc.start + 1})") from exc
    fields = next(csv.reader([line]), [])
    return [name.strip() for name in fields]


def _read_csv(path: Path, spec: TableSpec) -> Iterator[pa.Table]:
    names = _read_csv_header(path)
    check_header(path.name, names, spec)
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=BLOCK_SIZE),
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
    except pa.ArrowInvalid as exc:
        locate_csv_problem(path, len(names))
        raise LoadError(f"{path.name}: cannot be read as CSV: {exc}") from exc


def locate_csv_problem(path: Path, expected_fields: int) -> None:
    """Scan a CSV with Python's csv module; raise LoadError naming the first bad line.

    Checks UTF-8 decoding and the number of fields of every record. Returns quietly
    when it finds nothing (the caller then reports the reader's own message).
    """
    state = {"line": 0, "rows": 0}

    def lines() -> Iterator[str]:
        with path.open("rb") as handle:
            for state["line"], raw in enumerate(handle, start=1):
                try:
                    yield raw.decode("utf-8-sig" if state["line"] == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    where = "header" if state["line"] == 1 else f"data row {state['rows'] + 1}"
                    raise LoadError(
                        f"{path.name}: line {state['line']} ({where}) is not valid UTF-8: "
                        f"byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line"
                    ) from exc

    reader = csv.reader(lines(), delimiter=",", quotechar='"', doublequote=True, strict=False)
    next(reader, None)
    first_line = 2
    for record in reader:
        if record:
            state["rows"] += 1
            if len(record) != expected_fields:
                span = f"line {first_line}" if first_line == reader.line_num else (
                    f"lines {first_line}-{reader.line_num}")
                raise LoadError(
                    f"{path.name}: {span} (data row {state['rows']}) has {len(record)} fields, "
                    f"the header has {expected_fields}"
                )
        first_line = reader.line_num + 1


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


def _as_text(file_name: str, column: pa.ChunkedArray, name: str, first_row: int) -> pa.ChunkedArray:
    """Cast one column to text, naming the first row that cannot be (e.g. non-UTF-8 bytes)."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if column.type == pa.string():
        return column
    try:
        return column.cast(pa.string())
    except pa.ArrowException as exc:
        for offset, value in enumerate(column.to_pylist()):
            try:
                pa.array([value]).cast(pa.string())
            except pa.ArrowException:
                raise LoadError(
                    f"{file_name}: column {name!r}, data row {first_row + offset}: "
                    f"value cannot be read as text ({exc})"
                ) from exc
        raise LoadError(f"{file_name}: column {name!r} cannot be read as text ({exc})") from exc


def _finish(
    file_name: str, table: pa.Table, spec: TableSpec, loaded_at: str, first_row: int
) -> pa.RecordBatch:
    """Put a chunk into contract column order, add lineage, reject NUL characters."""
    rows = table.num_rows
    arrays: list[pa.Array] = []
    for name in spec.file_columns:
        if name == LOADED_AT and name not in table.column_names:
            arrays.append(pa.repeat(pa.scalar(loaded_at, pa.string()), rows))
            continue
        column = _as_text(file_name, table.column(name), name, first_row)
        has_nul = pc.match_substring(column, "\x00")
        if pc.any(has_nul).as_py():
            offset = pc.index(has_nul, True).as_py()
            raise LoadError(
                f"{file_name}: column {name!r}, data row {first_row + offset}: "
                "contains a NUL character, which a text column cannot hold"
            )
        arrays.append(column.combine_chunks())
    arrays.append(pa.repeat(pa.scalar(file_name, pa.string()), rows))
    arrays.append(pa.arange(first_row, first_row + rows).cast(pa.int64()))
    return pa.RecordBatch.from_arrays(arrays, schema=spec.arrow_schema())
