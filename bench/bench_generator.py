"""Throughput of the raw-data generator (used by `make bench`)."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from data_gen.generate.generator import generate


def bench_generate(customers: int, out: Path, fmt: str = "csv", keep: bool = False) -> dict:
    """Generate `customers` people into `out`, time it, and delete the files unless `keep`."""
    started = time.perf_counter()
    manifest = generate(customers, 42, out, fmt=fmt, now=datetime(2024, 5, 9, 10, 0, tzinfo=UTC))
    seconds = time.perf_counter() - started
    rows = manifest["files"]["contacts"]["rows"] + manifest["files"]["transactions"]["rows"]
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "customers": customers,
        "contacts_rows": manifest["files"]["contacts"]["rows"],
        "transactions_rows": manifest["files"]["transactions"]["rows"],
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "megabytes": round(size / 1e6, 1),
    }


if __name__ == "__main__":
    import sys

    print(bench_generate(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, Path("/tmp/bench_generator")))
