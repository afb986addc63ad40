"""The slow path of the CSV reader: find the first bad place in a file Arrow refused, and name it.

A pure Python pass (the csv module over lines cut at `\\n`, `\\r\\n` or a lone `\\r`, read
in bounded chunks) checks UTF-8, the number of fields of every record and the size of every
field (MAX_FIELD_BYTES) and record (MAX_RECORD_BYTES). Memory stays bounded by the record
limit whatever the file holds (a 1 GB line is refused after MAX_RECORD_BYTES).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from data_gen.load.source import LINE_END, open_stream
from data_gen.load.spec import MAX_FIELD_BYTES, MAX_RECORD_BYTES, LoadError, quoted_name

CHUNK_BYTES = 1 << 20
SEPARATOR_OR_QUOTE = re.compile(r'[",]')


class _RecordTooLong(Exception):
    """A record grew past MAX_RECORD_BYTES before it ended."""


@dataclass
class _Position:
    """Where the scan is: physical line, data rows seen, the current record's text."""

    line: int = 0
    rows: int = 0
    record: list[str] = field(default_factory=list)


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """Set the csv module's (process-wide) field size limit for the scan, then restore it."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _raw_lines(stream: pa.NativeFile) -> Iterator[bytes]:
    """Lines with their terminator; raises _RecordTooLong for a line over MAX_RECORD_BYTES."""
    pending = b""
    while chunk := stream.read(CHUNK_BYTES):
        data = pending + chunk
        start = 0
        for match in LINE_END.finditer(data):
            if match.group() == b"\r" and match.end() == len(data):
                break  # maybe the first half of a \r\n split across chunks
            yield data[start : match.end()]
            start = match.end()
        pending = data[start:]
        if len(pending) > MAX_RECORD_BYTES:
            raise _RecordTooLong(pending[: MAX_RECORD_BYTES + 1].decode("utf-8", "replace"))
    if pending:
        yield pending


def _decoded(name: str, stream: pa.NativeFile, pos: _Position) -> Iterator[str]:
    """Decoded lines (the header's BOM dropped), recording each in the current record."""
    for pos.line, raw in enumerate(_raw_lines(stream), start=1):
        try:
            text = raw.decode("utf-8-sig" if pos.line == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            where = "header" if pos.line == 1 else f"data row {pos.rows + 1}"
            raise LoadError(
                f"{name}: line {pos.line} ({where}) is not valid UTF-8: "
                f"byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line"
            ) from exc
        pos.record.append(text)
        yield text


def oversized_column(text: str) -> int | None:
    """0-based index of the first field of the record `text` longer than MAX_FIELD_BYTES, if any.

    Counts separators outside quotes (a doubled quote toggles twice, so it cancels out).
    Lengths are in characters, a lower bound of the UTF-8 bytes.
    """
    quoted, column, start = False, 0, 0
    for match in SEPARATOR_OR_QUOTE.finditer(text):
        if match.group() == '"':
            quoted = not quoted
        elif not quoted:
            if match.start() - start > MAX_FIELD_BYTES:
                return column
            column, start = column + 1, match.end()
    return column if len(text) - start > MAX_FIELD_BYTES else None


def _too_large(name: str, pos: _Position, names: list[str], text: str) -> LoadError:
    """The error for a record whose field or whole text is over the limits."""
    index = oversized_column(text)
    where = f"{name}: line {pos.line - len(pos.record) + 1} (data row {pos.rows + 1})"
    if index is not None and index < len(names):
        return LoadError(
            f"{where}, column {quoted_name(names[index])}: value is larger than "
            f"{MAX_FIELD_BYTES // (1 << 20)} MiB, the limit of a field"
        )
    limit = MAX_RECORD_BYTES // (1 << 20)
    return LoadError(f"{where}: record is larger than {limit} MiB, the limit of a record")


def _check_record(name: str, pos: _Position, names: list[str], record: list[str], first_line: int) -> None:
    """Field count and field sizes of one parsed record."""
    if len(record) != len(names):
        span = f"line {first_line}" if first_line == pos.line else f"lines {first_line}-{pos.line}"
        raise LoadError(
            f"{name}: {span} (data row {pos.rows}) has {len(record)} fields, the header has {len(names)}"
        )
    for column, value in zip(names, record, strict=True):
        if len(value) * 4 > MAX_FIELD_BYTES and len(value.encode("utf-8")) > MAX_FIELD_BYTES:
            raise LoadError(
                f"{name}: line {first_line} (data row {pos.rows}), column {quoted_name(column)}: value is "
                f"{len(value.encode('utf-8')):,} bytes, more than the {MAX_FIELD_BYTES // (1 << 20)} MiB "
                "limit of a field"
            )


def locate_csv_problem(path: Path, codec: str | None, names: list[str]) -> None:
    """Scan a CSV with Python's csv module; raise LoadError naming the first bad line.

    Checks UTF-8 decoding, the number of fields of every record and the field and record
    size limits. Returns quietly when it finds nothing (the caller then reports the
    reader's own message).
    """
    pos = _Position()
    with open_stream(path, codec) as stream, _csv_field_limit(MAX_RECORD_BYTES):
        reader = csv.reader(_decoded(path.name, stream, pos), delimiter=",", quotechar='"',
                            doublequote=True, strict=False)
        try:
            next(reader, None)
            pos.record.clear()
            for record in reader:
                if record:
                    pos.rows += 1
                    _check_record(path.name, pos, names, record, pos.line - len(pos.record) + 1)
                pos.record.clear()
        except csv.Error as exc:
            if "field larger than field limit" not in str(exc):
                raise LoadError(f"{path.name}: line {pos.line} (data row {pos.rows + 1}): {exc}") from exc
            raise _too_large(path.name, pos, names, "".join(pos.record)) from exc
        except _RecordTooLong as exc:
            pos.line += 1
            pos.record.append(str(exc))
            raise _too_large(path.name, pos, names, "".join(pos.record)) from None
        except (OSError, pa.ArrowException) as exc:
            raise LoadError(
                f"{path.name}: cannot be {codec}-decompressed after line {pos.line}: {exc}"
                if codec else f"{path.name}: cannot be read after line {pos.line}: {exc}"
            ) from exc
