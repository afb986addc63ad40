"""Vectorised text building for the generator: no Python loop per row.

A text value is built from *segments*. A segment is a byte matrix (one row per
output row, padded to a fixed width) plus, per row, the offset and length of the
bytes that count. A field is a list of segments; a CSV line is the segments of all
fields with separators. `assemble` keeps the counted bytes of each row, in order,
with one boolean-mask gather, which gives either the body of a CSV file or the data
buffer of an Arrow string array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

DAY_MS = 86_400_000


def frozen(values: object) -> np.ndarray:
    """A read-only numpy array, for module-level constants."""
    arr = np.array(values)
    arr.flags.writeable = False
    return arr


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# two hex characters per byte value, as one little-endian uint16 each
_HEX_PAIRS = frozen(
    np.ascontiguousarray(np.stack([_HEX.repeat(16), np.tile(_HEX, 16)], axis=1)).view(np.uint16)[:, 0]
)


@dataclass(frozen=True)
class Seg:
    """Rows of padded bytes; row `i` contributes `mat[i, start[i] : start[i] + length[i]]`."""

    mat: np.ndarray
    start: np.ndarray | int
    length: np.ndarray | int

    def mask(self) -> np.ndarray:
        """Boolean matrix of the bytes that count."""
        n, width = self.mat.shape
        cols = np.arange(width, dtype=np.int32)
        start = np.broadcast_to(np.asarray(self.start, dtype=np.int32), (n,))
        end = start + np.broadcast_to(np.asarray(self.length, dtype=np.int32), (n,))
        return (cols >= start[:, None]) & (cols < end[:, None])

    def lengths(self) -> np.ndarray:
        """Counted bytes per row."""
        return np.broadcast_to(np.asarray(self.length, dtype=np.int64), (self.mat.shape[0],))

    def blank(self, rows: np.ndarray) -> Seg:
        """The same segment with zero length where `rows` (boolean) is true."""
        return Seg(self.mat, self.start, np.where(rows, 0, self.lengths()))


def literal(n: int, text: str) -> Seg:
    """The same text on every row."""
    raw = np.frombuffer(text.encode(), dtype=np.uint8)
    return Seg(np.broadcast_to(raw, (n, raw.size)), 0, raw.size)


def vocab_matrix(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Padded byte matrix (one row per word) and the UTF-8 length of each word."""
    encoded = [w.encode() for w in words]
    width = max([len(e) for e in encoded] + [1])
    mat = np.zeros((len(encoded), width), dtype=np.uint8)
    for i, e in enumerate(encoded):
        mat[i, : len(e)] = np.frombuffer(e, dtype=np.uint8)
    return mat, np.array([len(e) for e in encoded], dtype=np.int64)


def vocab(words: list[str], codes: np.ndarray, present: np.ndarray | None = None) -> Seg:
    """Row `i` shows `words[codes[i]]` (nothing where `present` is false)."""
    mat, lens = vocab_matrix(words)
    length = lens[codes]
    if present is not None:
        length = np.where(present, length, 0)
    return Seg(mat[codes], 0, length)


def csv_quote(text: str) -> str:
    """RFC 4180 quoting, only when the value needs it."""
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def uuid_matrix(raw: np.ndarray) -> np.ndarray:
    """Lowercase UUID text (n, 36) from 16 random bytes per row, with version-4 bits set."""
    b = raw.copy()
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    hexed = _HEX_PAIRS[b].view(np.uint8)  # (n, 32)
    out = np.empty((len(b), 36), dtype=np.uint8)
    out[:, 0:8] = hexed[:, 0:8]
    out[:, 9:13] = hexed[:, 8:12]
    out[:, 14:18] = hexed[:, 12:16]
    out[:, 19:23] = hexed[:, 16:20]
    out[:, 24:36] = hexed[:, 20:32]
    out[:, [8, 13, 18, 23]] = ord("-")
    return out


def civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of days since 1970-01-01 (proleptic Gregorian, vectorised)."""
    z = days.astype(np.int64) + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _put_digits(out: np.ndarray, col: int, value: np.ndarray, width: int) -> None:
    """Write `value` zero-padded to `width` digits at column `col`."""
    for k in range(width):
        out[:, col + width - 1 - k] = 48 + (value // 10**k) % 10


def date_matrix(days: np.ndarray) -> np.ndarray:
    """`YYYY-MM-DD` (n, 10) from days since the epoch."""
    year, month, day = civil_from_days(days)
    out = np.empty((len(days), 10), dtype=np.uint8)
    _put_digits(out, 0, year, 4)
    _put_digits(out, 5, month, 2)
    _put_digits(out, 8, day, 2)
    out[:, [4, 7]] = ord("-")
    return out


def timestamp_matrix(ms: np.ndarray) -> np.ndarray:
    """`YYYY-MM-DD HH:MM:SS.mmm` (n, 23) from milliseconds since the epoch (UTC)."""
    ms = ms.astype(np.int64)
    days = np.floor_divide(ms, DAY_MS)
    rest = ms - days * DAY_MS
    out = np.empty((len(ms), 23), dtype=np.uint8)
    out[:, :10] = date_matrix(days)
    out[:, 10] = ord(" ")
    _put_digits(out, 11, rest // 3_600_000, 2)
    _put_digits(out, 14, (rest // 60_000) % 60, 2)
    _put_digits(out, 17, (rest // 1000) % 60, 2)
    _put_digits(out, 20, rest % 1000, 3)
    out[:, [13, 16]] = ord(":")
    out[:, 19] = ord(".")
    return out


def int_seg(values: np.ndarray, width: int) -> Seg:
    """Non-negative integers as plain decimal text (right-aligned in `width` columns)."""
    v = values.astype(np.int64)
    out = np.empty((len(v), width), dtype=np.uint8)
    _put_digits(out, 0, v, width)
    ndigits = np.ones(len(v), dtype=np.int64)
    for k in range(1, width):
        ndigits += v >= 10**k
    return Seg(out, width - ndigits, ndigits)


def tenths_seg(tenths: np.ndarray, width: int = 8) -> Seg:
    """Non-negative amounts held in tenths as text with one decimal, like `66.3`."""
    t = tenths.astype(np.int64)
    whole = int_seg(t // 10, width - 2)
    out = np.empty((len(t), width), dtype=np.uint8)
    out[:, : width - 2] = whole.mat
    out[:, width - 2] = ord(".")
    out[:, width - 1] = 48 + t % 10
    length = np.asarray(whole.length) + 2
    return Seg(out, width - length, length)


def assemble(segs: list[Seg]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the counted bytes of every segment per row: (flat bytes, bytes per row)."""
    big = np.concatenate([np.ascontiguousarray(s.mat) for s in segs], axis=1)
    mask = np.concatenate([s.mask() for s in segs], axis=1)
    lengths = np.sum([s.lengths() for s in segs], axis=0)
    return big[mask], lengths


def to_arrow(segs: list[Seg], null: np.ndarray | None = None) -> pa.Array:
    """One Arrow string array from a field's segments; `null` rows become nulls."""
    data, lengths = assemble(segs)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    validity = None
    null_count = 0
    if null is not None and null.any():
        validity = pa.py_buffer(np.packbits(~null, bitorder="little"))
        null_count = int(null.sum())
    return pa.LargeStringArray.from_buffers(
        len(lengths), pa.py_buffer(offsets), pa.py_buffer(data), validity, null_count
    ).cast(pa.string())
