"""What the raw layer looks like (docs/CONTRACT.md) and the loader's error type."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

LOADED_AT = "_loaded_at_utc"
SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row_number"


class LoadError(Exception):
    """A raw file cannot be loaded; the message names the file and the column and/or row.

    Nothing in the warehouse has changed when this is raised.
    """


@dataclass(frozen=True)
class TableSpec:
    """One raw table: where it lands and which columns its file must have."""

    schema: str
    table: str
    columns: tuple[str, ...]

    @property
    def qualified(self) -> str:
        """`schema.table` of the live table."""
        return f"{self.schema}.{self.table}"

    @property
    def file_columns(self) -> tuple[str, ...]:
        """Columns a file may carry: the business columns plus the optional `_loaded_at_utc`."""
        return (*self.columns, LOADED_AT)

    @property
    def output_columns(self) -> tuple[str, ...]:
        """Columns of the raw table, in contract order."""
        return (*self.columns, LOADED_AT, SOURCE_FILE, SOURCE_ROW)

    def arrow_schema(self) -> pa.Schema:
        """Arrow schema of the batches handed to the writers (all text, row number int64)."""
        fields = [pa.field(name, pa.string()) for name in (*self.file_columns, SOURCE_FILE)]
        return pa.schema([*fields, pa.field(SOURCE_ROW, pa.int64())])


CONTACTS = TableSpec(
    schema="salesforce",
    table="contacts",
    columns=("id", "username", "name", "gender", "address", "mail", "birthdate"),
)
TRANSACTIONS = TableSpec(
    schema="web",
    table="transactions",
    columns=("contact_id", "id", "transaction_date", "amount", "item_count", "category"),
)


def check_header(file_name: str, names: list[str], spec: TableSpec) -> None:
    """Raise LoadError unless `names` (already trimmed) are exactly the allowed columns.

    Every business column is required, `_loaded_at_utc` is optional, order is free,
    names are case-sensitive, and a name may not appear twice.
    """
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise LoadError(
                f"{file_name}: header column {position} {name!r} is duplicated "
                f"(also header column {seen[name]})"
            )
        seen[name] = position
    allowed = set(spec.file_columns)
    unknown = [f"{name!r} (header column {pos})" for name, pos in seen.items() if name not in allowed]
    if unknown:
        raise LoadError(
            f"{file_name}: unknown column {', '.join(unknown)}; "
            f"{spec.qualified} takes only {', '.join(spec.file_columns)}"
        )
    missing = [name for name in spec.columns if name not in seen]
    if missing:
        raise LoadError(
            f"{file_name}: missing required column {', '.join(repr(m) for m in missing)} "
            f"for {spec.qualified}"
        )
