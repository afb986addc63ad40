"""What the raw layer looks like (docs/CONTRACT.md) and the loader's error type."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

LOADED_AT = "_loaded_at_utc"
SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row_number"

# Limits of a raw file (docs/CONTRACT.md, "Raw layer"); larger files are refused by name.
MAX_FIELD_BYTES = 1 << 20  # one value, in UTF-8 bytes
MAX_RECORD_BYTES = 8 << 20  # one CSV record (all its fields and separators); also the CSV read block
MAX_HEADER_BYTES = 64 << 10  # the CSV header line
MAX_COLUMNS = 200  # columns in a file's header or Parquet schema
MAX_MESSAGE_CHARS = 500  # a LoadError message is cut to this length
MAX_NAME_CHARS = 30  # a column name quoted in a message is cut to this length


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` on one line (every run of whitespace becomes one space), cut to `limit` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def quoted_name(name: str) -> str:
    """A column name for a message: repr, cut to MAX_NAME_CHARS characters."""
    return repr(name) if len(name) <= MAX_NAME_CHARS else repr(name[:MAX_NAME_CHARS]) + "..."


class LoadError(Exception):
    """A raw file cannot be loaded; the message names the file and the column and/or row.

    The message is always one line of at most MAX_MESSAGE_CHARS characters (never a driver's
    traceback or a file's content). Nothing in the warehouse has changed when this is raised.
    """

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


@dataclass(frozen=True)
class TableSpec:
    """One raw table: where it lands and which columns its file must have."""

    schema: str
    table: str
    columns: tuple[str, ...]
    date_columns: tuple[str, ...] = ()
    optional_columns: tuple[str, ...] = ()  # may be absent from a file; then NULL in every row

    @property
    def qualified(self) -> str:
        """`schema.table` of the live table."""
        return f"{self.schema}.{self.table}"

    @property
    def file_columns(self) -> tuple[str, ...]:
        """Columns a file may carry: the required and optional business columns and `_loaded_at_utc`."""
        return (*self.columns, *self.optional_columns, LOADED_AT)

    @property
    def output_columns(self) -> tuple[str, ...]:
        """Columns of the raw table, in contract order."""
        return (*self.file_columns, SOURCE_FILE, SOURCE_ROW)

    def arrow_schema(self) -> pa.Schema:
        """Arrow schema of the batches handed to the writers (all text, row number int64)."""
        fields = [pa.field(name, pa.string()) for name in (*self.file_columns, SOURCE_FILE)]
        return pa.schema([*fields, pa.field(SOURCE_ROW, pa.int64())])


CONTACTS = TableSpec(
    schema="salesforce",
    table="contacts",
    columns=("id", "username", "name", "gender", "address", "mail", "birthdate"),
    date_columns=("birthdate",),
)
TRANSACTIONS = TableSpec(
    schema="web",
    table="transactions",
    columns=("contact_id", "id", "transaction_date", "amount", "item_count", "category"),
    optional_columns=("order_id",),  # order lines: lines of one order share it (absent: one line = one order)
)


def check_header(file_name: str, names: list[str], spec: TableSpec) -> None:
    """Raise LoadError unless `names` (already trimmed) are exactly the allowed columns.

    At most MAX_COLUMNS columns; every business column except `spec.optional_columns` is
    required, `_loaded_at_utc` is optional, order is free, names are case-sensitive, and a name
    may not appear twice.
    Messages quote at most two names, each cut to MAX_NAME_CHARS.
    """
    if len(names) > MAX_COLUMNS:
        raise LoadError(
            f"{file_name}: header has {len(names):,} columns, more than the {MAX_COLUMNS} a raw file "
            f"may have; {spec.qualified} takes only {', '.join(spec.file_columns)}"
        )
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise LoadError(
                f"{file_name}: header column {position} {quoted_name(name)} is duplicated "
                f"(also header column {seen[name]})"
            )
        seen[name] = position
    allowed = set(spec.file_columns)
    unknown = [
        f"{quoted_name(name)} (header column {pos})" for name, pos in seen.items() if name not in allowed
    ]
    if unknown:
        more = f" and {len(unknown) - 2} more" if len(unknown) > 2 else ""
        raise LoadError(
            f"{file_name}: unknown column {', '.join(unknown[:2])}{more}; "
            f"{spec.qualified} takes only {', '.join(spec.file_columns)}"
        )
    missing = [name for name in spec.columns if name not in seen]
    if missing:
        raise LoadError(
            f"{file_name}: missing required column {', '.join(repr(m) for m in missing)} "
            f"for {spec.qualified}"
        )
