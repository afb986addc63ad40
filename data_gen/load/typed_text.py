"""Typed Parquet columns as the raw contract's text forms (docs/CONTRACT.md, "Raw layer").

The forms are the ones staging parses (`as_timestamp_utc`, `safe_to_date`, `safe_cast_text`),
so a file written typed (pandas/pyarrow) loads to the same raw rows as the same data as text:

- timestamp (s/ms/us/ns, naive or with a time zone): `YYYY-MM-DD HH:MM:SS.fff`, or `.ffffff`
  when the value has microseconds; a time zone is converted to UTC (naive values are taken
  as UTC wall clock). Nanoseconds that are not whole microseconds are refused: the
  warehouse keeps microseconds and the loader does not round.
- a timestamp at exactly midnight in a date column (`birthdate`): `YYYY-MM-DD`
  (pandas writes parsed dates as timestamps).
- date: `YYYY-MM-DD`; integer: digits; decimal: digits with the column's scale (`66.30`);
  floating point: the shortest round-trip form, integral values without a fraction (`3.0`
  is `3`, so an integer column that pandas turned into floats by a NaN stays integral).
- anything else: Arrow's cast to text; binary must be UTF-8.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from data_gen.load.spec import LoadError, quoted_name

UNITS_PER_MILLI = {"ms": 1, "us": 1_000, "ns": 1_000_000}


def as_text(
    file_name: str, column: pa.ChunkedArray, name: str, first_row: int, date_column: bool = False
) -> pa.ChunkedArray:
    """Cast one column to contract text, naming the first row that cannot be (e.g. non-UTF-8 bytes)."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if column.type == pa.string():
        return column
    if pa.types.is_timestamp(column.type):
        values = column.combine_chunks()  # one array, so row offsets index it directly
        return pa.chunked_array([_timestamp_text(file_name, values, name, first_row, date_column)])
    try:
        return column.cast(pa.string())
    except pa.ArrowException as exc:
        for offset, value in enumerate(column.to_pylist()):
            try:
                pa.array([value], column.type).cast(pa.string())
            except pa.ArrowException:
                raise LoadError(
                    f"{file_name}: column {quoted_name(name)}, data row {first_row + offset}: "
                    f"value cannot be read as text ({exc})"
                ) from exc
        raise LoadError(f"{file_name}: column {quoted_name(name)} cannot be read as text ({exc})") from exc


def _timestamp_text(
    file_name: str, values: pa.Array, name: str, first_row: int, date_column: bool
) -> pa.Array:
    """`YYYY-MM-DD HH:MM:SS.fff[fff]` (UTC) for every value; see the module docstring."""
    unit = values.type.unit
    naive = values.cast(pa.timestamp(unit)) if values.type.tz else values  # tz -> UTC wall clock
    seconds = pc.floor_temporal(naive, unit="second")
    whole = pc.strftime(seconds.cast(pa.timestamp("s")), format="%Y-%m-%d %H:%M:%S")
    if unit == "s":
        fraction = pa.repeat(pa.scalar(".000"), len(values))
        sub_second = pa.repeat(pa.scalar(0, pa.int64()), len(values))
    else:
        sub_second = pc.subtract(naive.cast(pa.int64()), seconds.cast(pa.timestamp(unit)).cast(pa.int64()))
        per_milli = UNITS_PER_MILLI[unit]
        per_micro = per_milli // 1_000 if unit != "ms" else 1
        if unit == "ns":
            bad = pc.not_equal(_remainder(sub_second, 1_000), 0)
            if pc.any(bad).as_py():
                offset = pc.index(bad, True).as_py()
                raise LoadError(
                    f"{file_name}: column {quoted_name(name)}, data row {first_row + offset}: timestamp "
                    f"{values[offset]} has nanoseconds; the raw layer keeps at most microseconds"
                )
        millis = _digits(pc.divide(sub_second, per_milli), 3)
        micros = _digits(pc.divide(sub_second, per_micro), 6) if unit != "ms" else millis
        whole_millis = pc.equal(_remainder(sub_second, per_milli), 0)
        fraction = pc.binary_join_element_wise(".", pc.if_else(whole_millis, millis, micros), "")
    text = pc.binary_join_element_wise(whole, fraction, "")
    if date_column:
        midnight = pc.and_(
            pc.equal(sub_second, 0), pc.equal(pc.floor_temporal(naive, unit="day"), naive)
        )
        text = pc.if_else(midnight, pc.strftime(seconds.cast(pa.timestamp("s")), format="%Y-%m-%d"), text)
    return text


def _remainder(values: pa.Array, divisor: int) -> pa.Array:
    """values mod divisor for non-negative integers."""
    return pc.subtract(values, pc.multiply(pc.divide(values, divisor), divisor))


def _digits(values: pa.Array, width: int) -> pa.Array:
    """Non-negative integers as zero-padded text of `width` digits."""
    return pc.utf8_lpad(values.cast(pa.string()), width=width, padding="0")
