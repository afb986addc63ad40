"""Loader benchmark: load one raw directory into a target and report seconds and rows/s."""

from __future__ import annotations

import time
from pathlib import Path

from data_gen.load.loader import find_raw_files, load


def bench_load(target: str, data_dir: Path) -> dict:
    """Load `data_dir` (contacts + transactions, CSV or Parquet) into `target` once.

    Uses the connection settings from `c360.config` (point `C360_DUCKDB_PATH` /
    `C360_PG_DB` at a scratch warehouse). Returns rows, wall seconds and rows per second.
    """
    contacts, transactions = find_raw_files(Path(data_dir))
    started = time.perf_counter()
    result = load(target, contacts, transactions)
    seconds = time.perf_counter() - started
    rows = result.contacts_rows + result.transactions_rows
    return {
        "target": target,
        "contacts_rows": result.contacts_rows,
        "transactions_rows": result.transactions_rows,
        "bytes": contacts.stat().st_size + transactions.stat().st_size,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds) if seconds > 0 else None,
        "destination": result.destination,
    }
