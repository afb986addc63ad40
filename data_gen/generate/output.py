"""Writers for the raw files: CSV (quoted only where needed) or Parquet (all text).

Both take chunks of Arrow string arrays in the same column order; a CSV chunk is
joined into lines by Arrow and its bytes are written in one call.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data_gen.generate.text import csv_quote


class TableWriter:
    """Writes one raw file chunk by chunk into `<path>.partial`; use as a context manager.

    On success the file stays `.partial` until `publish` renames it, so a failed or
    interrupted run never leaves a half-written file under the final name.
    """

    def __init__(self, path: Path, columns: tuple[str, ...], fmt: str) -> None:
        """Open `path` for `fmt` (`csv` or `parquet`) with the given header."""
        self.final, self.columns, self.fmt = path, columns, fmt
        self.path = path.with_name(path.name + ".partial")
        self.rows = 0
        if fmt == "csv":
            self._csv = self.path.open("wb")
            self._csv.write((",".join(csv_quote(c) for c in columns) + "\n").encode())
        else:
            schema = pa.schema([(c, pa.string()) for c in columns])
            self._pq = pq.ParquetWriter(self.path, schema, compression="snappy")

    @property
    def is_csv(self) -> bool:
        """True when writing CSV (values must then be CSV-escaped and end lines with a newline)."""
        return self.fmt == "csv"

    def write(self, arrays: list[pa.Array]) -> None:
        """Append one chunk; in CSV mode the last array must already end with a newline."""
        if self.is_csv:
            line = pc.binary_join_element_wise(*arrays, ",")
            offsets = np.frombuffer(line.buffers()[1], dtype=np.int32)[
                line.offset : line.offset + len(line) + 1
            ]
            self._csv.write(memoryview(line.buffers()[2])[int(offsets[0]) : int(offsets[-1])])
        else:
            self._pq.write_table(pa.table(dict(zip(self.columns, arrays, strict=True))))
        self.rows += len(arrays[0])

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.is_csv:
            self._csv.close()
        else:
            self._pq.close()
        if exc_type is not None:
            self.path.unlink(missing_ok=True)

    def publish(self) -> None:
        """Move the finished file to its final name (atomic on one file system)."""
        self.path.replace(self.final)


def blank(arr: pa.Array, mask: np.ndarray, csv: bool) -> pa.Array:
    """Rows in `mask` become empty (CSV) or null (Parquet)."""
    if not mask.any():
        return arr
    return pc.if_else(pa.array(mask), pa.scalar("" if csv else None, pa.string()), arr)


def override(arr: pa.Array, codes: np.ndarray, words: list[str], csv: bool) -> pa.Array:
    """Rows with `codes >= 0` show `words[code]` instead (CSV-quoted when needed)."""
    mask = codes >= 0
    if not mask.any():
        return arr
    texts = [csv_quote(words[c]) if csv else words[c] for c in codes[mask].tolist()]
    return pc.replace_with_mask(arr, pa.array(mask), pa.array(texts, pa.string()))


def fixed(mat: np.ndarray) -> pa.Array:
    """A string array over a fixed-width byte matrix, without copying."""
    n, width = mat.shape
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(mat)))


def take(words: list[str], codes: np.ndarray) -> pa.Array:
    """`words[codes]` as an Arrow string array."""
    return pc.take(pa.array(words, pa.string()), pa.array(codes))
