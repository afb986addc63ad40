"""What `make build` reports: only this run's results, and the cause that actually stopped it.

dbt leaves its artifacts (`sources.json`, `run_results.json`) in the target directory from run
to run, so an artifact is read only if this run wrote it (its mtime is not older than the step's
start); dbt's exit status is read first. When a step fails, the cause is named from what dbt
printed: a killed process, a lock held by another process, a parse or compilation error, failing
tests (with their names), stale sources; never a Python traceback.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# DuckDB's messages when another process holds the database file
LOCK_PATTERNS = ("Could not set lock on file", "Conflicting lock is held", "database is locked")
ERROR_HEADINGS = re.compile(
    r"^\s*(?:\S+\s+)?((?:Parsing|Compilation|Runtime|Database|Dependency) Error\b.*)$", re.MULTILINE
)
FAILED_STATUSES = ("error", "fail", "runtime error")
MAX_LINE = 300


@dataclass
class StepReport:
    """One dbt step of the build, as this run left it."""

    step: str
    returncode: int
    counts: Counter[str] = field(default_factory=Counter)
    failed_nodes: list[str] = field(default_factory=list)
    has_results: bool = False
    cause: str | None = None

    @property
    def ok(self) -> bool:
        """True when dbt exited 0 and its results (written by this run) show no failure."""
        return self.returncode == 0 and self.has_results and not any(self.counts[s] for s in FAILED_STATUSES)

    def counts_line(self) -> str:
        """`status=n, ...` of this run's results, or a note that it wrote none."""
        if not self.has_results:
            return "no results written by this run"
        return ", ".join(f"{status}={n}" for status, n in sorted(self.counts.items()))


def written_since(path: Path, started: float) -> bool:
    """True when `path` exists and was written at or after `started` (a `time.time()` value)."""
    try:
        return path.stat().st_mtime >= started - 1.0
    except OSError:
        return False


def _short(line: str) -> str:
    line = " ".join(line.split())
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def cause_from_output(returncode: int, output: str) -> str | None:
    """The cause dbt's own output gives for a failed step, in one line (None if it names none)."""
    if returncode < 0:
        return f"dbt was killed by signal {-returncode} before it finished; nothing of this run is reported"
    for pattern in LOCK_PATTERNS:
        for line in output.splitlines():
            if pattern in line:
                return ("lock conflict: another process holds the warehouse file (close the app, "
                        f"notebooks or other readers, then run make build again): {_short(line)}")
    match = ERROR_HEADINGS.search(output)
    if match:
        following = output[match.end():].strip().splitlines()
        detail = next((line for line in following if line.strip()), "")
        return _short(f"{match.group(1)}: {detail}" if detail else match.group(1))
    return None


def read_step(step: str, returncode: int, output: str, artifact: Path, started: float) -> StepReport:
    """The report of one dbt step from its exit status, its output and its artifact (if this run's)."""
    report = StepReport(step=step, returncode=returncode)
    if written_since(artifact, started):
        try:
            results = json.loads(artifact.read_text())["results"]
        except (OSError, ValueError, KeyError) as exc:
            report.cause = f"{artifact.name} is unreadable: {exc}"
            return report
        report.has_results = True
        report.counts = Counter(r["status"] for r in results)
        report.failed_nodes = [
            r["unique_id"].split(".", 2)[-1] for r in results if r["status"] in FAILED_STATUSES
        ]
    if not report.ok:
        report.cause = report.cause or cause_from_output(returncode, output)
        if report.cause is None and report.failed_nodes:
            names = ", ".join(report.failed_nodes[:5]) + (" ..." if len(report.failed_nodes) > 5 else "")
            report.cause = f"{len(report.failed_nodes)} failed: {names}"
        if report.cause is None:
            report.cause = f"dbt exited with status {returncode}; see dbt_c360/logs/dbt.log"
    return report
