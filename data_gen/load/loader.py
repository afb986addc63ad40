"""Load raw contacts and transactions files into the warehouse's raw layer.

`load(target, contacts, transactions)` reads both files (CSV or Parquet), keeps every
value as text exactly as in the file, adds `_source_file` and `_source_row_number`, and
replaces `salesforce.contacts` and `web.transactions` together in one transaction.
Any structural problem raises LoadError (naming file and column/row) before anything
live changes. See docs/CONTRACT.md for the table layout.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from c360.warehouse import Warehouse
from data_gen.load.read import read_batches
from data_gen.load.source import check_regular_file
from data_gen.load.spec import CONTACTS, TRANSACTIONS, LoadError, TableSpec
from data_gen.load.write import BatchSource, write_warehouse

__all__ = ["LOAD_TARGETS", "LoadError", "LoadResult", "find_raw_files", "load"]

LOAD_TARGETS = ("duckdb", "postgres")
PROGRESS_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class LoadResult:
    """What one load did: rows per table, wall time and where the data went."""

    target: str
    contacts_rows: int
    transactions_rows: int
    seconds: float
    destination: str

    def summary(self) -> str:
        """The one-line summary printed by the CLI."""
        return (
            f"loaded {CONTACTS.qualified}={self.contacts_rows:,} rows, "
            f"{TRANSACTIONS.qualified}={self.transactions_rows:,} rows "
            f"in {self.seconds:.2f}s into {self.target} {self.destination}"
        )


class _Progress:
    """Throttled per-file progress lines on stderr."""

    def __init__(self, file_name: str, enabled: bool) -> None:
        self.file_name = file_name
        self.enabled = enabled
        self.started = time.perf_counter()
        self.last = self.started

    def __call__(self, rows: int, done: bool = False) -> None:
        now = time.perf_counter()
        if rows == 0 and not done:
            self.started = self.last = now
        elif self.enabled and (done or now - self.last >= PROGRESS_EVERY_SECONDS):
            self.last = now
            rate = rows / max(now - self.started, 1e-9)
            state = "read, done" if done else "read so far"
            line = f"  {self.file_name}: {rows:,} rows {state} ({rate:,.0f} rows/s)"
            print(line, file=sys.stderr, flush=True)


def find_raw_files(directory: Path) -> tuple[Path, Path]:
    """`contacts.csv|parquet` and `transactions.csv|parquet` in `directory`.

    Raises LoadError when a file is missing or present in both formats (ambiguous); a
    directory or symbolic link of that name is found here and refused by `load`.
    """
    found: list[Path] = []
    for stem in (CONTACTS.table, TRANSACTIONS.table):
        candidates = [directory / f"{stem}.{ext}" for ext in ("csv", "parquet")]
        present = [path for path in candidates if path.exists() or path.is_symlink()]
        if not present:
            raise LoadError(f"{directory}: neither {stem}.csv nor {stem}.parquet exists")
        if len(present) > 1:
            raise LoadError(
                f"{directory}: both {stem}.csv and {stem}.parquet exist; pass the files explicitly"
            )
        found.append(present[0])
    return found[0], found[1]


def _loaded_at_now() -> str:
    """Load time as text in the files' own format (`YYYY-MM-DD HH:MM:SS.mmm`, UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _source(spec: TableSpec, path: Path, loaded_at: str, progress: bool) -> BatchSource:
    """A (spec, batch-iterator factory) pair for the writers."""
    return spec, partial(read_batches, path, spec, loaded_at, _Progress(path.name, progress))


def load(target: str, contacts: Path, transactions: Path, progress: bool = False) -> LoadResult:
    """Replace the raw tables on `target` (`duckdb` or `postgres`) with the two files.

    Connection details come from `c360.warehouse.Warehouse` (`C360_DUCKDB_PATH`, `C360_PG_*`).
    Raises LoadError (warehouse unchanged) on a missing/empty/malformed file. `__loading`
    tables a stopped load left in the raw schemas are dropped first (they hold raw PII).
    """
    if target not in LOAD_TARGETS:
        raise LoadError(f"target {target!r} cannot be loaded; choose one of {', '.join(LOAD_TARGETS)}")
    contacts, transactions = Path(contacts), Path(transactions)
    for path in (contacts, transactions):
        check_regular_file(path)
    started = time.perf_counter()
    loaded_at = _loaded_at_now()
    sources = [
        _source(CONTACTS, contacts, loaded_at, progress),
        _source(TRANSACTIONS, transactions, loaded_at, progress),
    ]
    warehouse = Warehouse.for_engine(target)
    counts = write_warehouse(warehouse, sources)
    if warehouse.pg is not None:
        destination = f"{warehouse.pg.host}:{warehouse.pg.port}/{warehouse.pg.dbname}"
    else:
        destination = str(warehouse.duckdb_path)
    return LoadResult(
        target=target,
        contacts_rows=counts[CONTACTS.qualified],
        transactions_rows=counts[TRANSACTIONS.qualified],
        seconds=time.perf_counter() - started,
        destination=destination,
    )
