"""Open one raw file safely: only regular files, compression found by magic bytes, a bounded header.

- A symbolic link, a directory or any other non-regular file (FIFO, device) is refused by
  name; the loader never follows a link or reads what it points to.
- gzip, bz2 and zstd CSV files are decompressed on the fly whatever their extension; xz and
  zip are refused by name ("contacts.csv is xz-compressed: ...").
- The CSV header is read within MAX_HEADER_BYTES (a 1 GB first line is never read whole);
  `\\n`, `\\r\\n` and a lone `\\r` all end it.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyarrow as pa

from data_gen.load.spec import MAX_HEADER_BYTES, LoadError

PARQUET_MAGIC = b"PAR1"
READABLE_CODECS = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\x28\xb5\x2f\xfd": "zstd"}
READS = "the loader reads plain, gzip, bz2 or zstd CSV and Parquet"
REFUSED_CODECS = {
    b"\xfd7zXZ\x00": f"is xz-compressed: decompress it first (xz -d); {READS}",
    b"PK\x03\x04": f"is a zip archive: extract the file first (unzip); {READS}",
}
LINE_END = re.compile(rb"\r\n|\r|\n")


def check_regular_file(path: Path) -> None:
    """Raise LoadError unless `path` is a regular file reached without a symbolic link at its end."""
    if path.is_symlink():
        raise LoadError(f"{path}: is a symbolic link; refusing to follow it (pass the real file)")
    if not path.exists():
        raise LoadError(f"{path}: file not found")
    if path.is_dir():
        raise LoadError(f"{path}: is a directory; pass a contacts or transactions file")
    if not path.is_file():
        raise LoadError(f"{path}: is not a regular file (a FIFO, socket or device cannot be loaded)")


def sniff(path: Path) -> tuple[str, str | None]:
    """(`parquet` | `csv`, codec or None) from the file's first bytes; LoadError for xz/zip."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(PARQUET_MAGIC):
        return "parquet", None
    for magic, message in REFUSED_CODECS.items():
        if head.startswith(magic):
            raise LoadError(f"{path.name} {message}")
    for magic, codec in READABLE_CODECS.items():
        if head.startswith(magic):
            return "csv", codec
    return "csv", None


def open_stream(path: Path, codec: str | None) -> pa.NativeFile:
    """The file's (decompressed) bytes as an Arrow input stream; the caller closes it."""
    return pa.input_stream(str(path), compression=codec)


def describe(path: Path, codec: str | None) -> str:
    """`contacts.csv` or `contacts.csv (gzip-compressed)` for messages."""
    return path.name if codec is None else f"{path.name} ({codec}-compressed)"


def read_csv_header(path: Path, codec: str | None) -> list[str]:
    """The trimmed header names of a CSV file: its first line, read within MAX_HEADER_BYTES."""
    try:
        with open_stream(path, codec) as stream:
            head = stream.read(MAX_HEADER_BYTES + 2)
    except (OSError, pa.ArrowException) as exc:
        raise LoadError(f"{path.name} is {codec}-compressed but cannot be decompressed: {exc}") from exc
    if not head:
        raise LoadError(f"{describe(path, codec)}: contains no data after decompression; expected a header")
    if codec is not None and head.startswith(PARQUET_MAGIC):
        raise LoadError(
            f"{path.name} is a {codec}-compressed Parquet file: decompress it first "
            "(Parquet compresses its own pages)"
        )
    match = LINE_END.search(head)
    if match is None and len(head) > MAX_HEADER_BYTES:
        raise LoadError(
            f"{describe(path, codec)}: line 1 (header) is longer than {MAX_HEADER_BYTES // 1024} KiB, "
            "the limit of a header line"
        )
    raw = head if match is None else head[: match.start()]
    if len(raw) > MAX_HEADER_BYTES:
        raise LoadError(
            f"{describe(path, codec)}: line 1 (header) is {len(raw):,} bytes, more than the "
            f"{MAX_HEADER_BYTES // 1024} KiB limit of a header line"
        )
    try:
        line = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(
            f"{describe(path, codec)}: line 1 (header) is not valid UTF-8 (byte {exc.start + 1})"
        ) from exc
    fields = next(csv.reader([line]), [])
    return [name.strip() for name in fields]
