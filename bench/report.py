"""The benchmark's markdown table, with the machine facts and versions it was measured on."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One measured stage."""

    stage: str
    scale: int
    target: str
    seconds: float
    rate: str
    peak_mb: float
    note: str


def _memory_gib() -> str:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return "?"
    return f"{pages / 2**30:.0f} GiB"


def machine_facts() -> str:
    """Cores, memory and package versions as one markdown line."""
    packages = ", ".join(f"{p} {version(p)}" for p in ("duckdb", "dbt-core", "dbt-duckdb", "dbt-postgres",
                                                        "metricflow", "streamlit", "pandas"))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores, {_memory_gib()} memory, load average at the end {load}, "
            f"Python {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}; {packages}")


def render(rows: list[Row], total_seconds: float) -> str:
    """The markdown report."""
    lines = [
        "# Benchmark results",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in one run of `make bench` "
        f"({total_seconds / 60:.1f} min). Machine: {machine_facts()}.",
        "",
        "| stage | customers | target | seconds | rows/s | peak MB | note |",
        "| --- | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    lines += [
        f"| {r.stage} | {r.scale:,} | {r.target} | {r.seconds:.2f} | {r.rate} | {r.peak_mb:,.0f} | {r.note} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def write_report(rows: list[Row], path: Path, total_seconds: float) -> str:
    """Write the report to `path` and return its text."""
    text = render(rows, total_seconds)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text
