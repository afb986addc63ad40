"""Per-worker isolation for `make test` on pytest-xdist workers, and the slow-first schedule.

Isolation: xdist names its workers gw0, gw1... in `PYTEST_XDIST_WORKER`. Every worker gets its own
Postgres database `<C360_PG_DB>_gwN`, its own directory (DuckDB file, dbt target and log dirs, app
data, Spark dir, TMPDIR) and its own range of TCP ports for the Streamlit servers of the browser
tests. A serial run (no `PYTEST_XDIST_WORKER`) keeps the base names: the helpers return what the
environment already says. conftest.py's session fixture `worker_isolation` applies `worker_env()`
to the worker's os.environ (undone at the end) and creates/drops the worker database; the
databases `new_pg_database()` creates are named after it (`scratch_database_name`).

Schedule: `make test` runs `pytest -n 2 --dist loadfile`: every file is one unit of work and a
worker takes the next unit when it is almost out of tests. Without help xdist queues the files
by their number of tests, so a slow file with few tests (a full `dbt build` per case) could start
last and run alone at the end. conftest.py therefore
- sorts the collected items so that the files of `SLOW_FILES` come first, slowest first
  (`order_key`), the other files after them in their usual order, and
- installs `SlowFirstFileScheduling` (hook `pytest_xdist_make_scheduler`): the loadfile schedule
  that keeps that order and splits each file of `SPLIT_FILES` into one unit per backend case
  (`duckdb` / `postgres` as a dash-separated part of the test id: `[duckdb]`, `[postgres-day]`), so
  its DuckDB and Postgres halves can run on two workers at once (`split_scope`); its tests
  without a backend case stay one more unit.
Refresh `SLOW_FILES` from `pytest -n 2 --dist loadfile --durations=0` (add the durations of each
file's tests, setup included) when a file gets much slower or a new slow file appears.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

WORKER_VARIABLE = "PYTEST_XDIST_WORKER"
PORT_BASE = 20000
PORTS_PER_WORKER = 500
PG_NAME_LIMIT = 63  # Postgres truncates identifiers longer than this

# Slowest first: the files whose tests (setup included) took >= 150 s in all, in the one measured
# `make test` run with 2 workers (`--durations=0`, 2026-12, on a machine with load average 10-20: see README).
SLOW_FILES: tuple[str, ...] = (
    # new this round, placed by their single-file timings (not yet in a 2-worker --durations run)
    "tests/test_recs_learned.py",
    "tests/test_dbt_reload.py",
    "tests/test_identity_warehouse.py",
    "tests/test_metrics_states.py",
    "tests/test_dbt_validity_vars.py",
    "tests/test_metrics_kpi_cli.py",
    "tests/test_share_keys.py",
    "tests/test_build_publish.py",
    "tests/test_order_lines.py",
    "tests/test_categories.py",
    "tests/test_share.py",
    "tests/test_build_report.py",
    "tests/test_metrics_cli.py",
    "tests/test_dbt_warehouse_name.py",
    "tests/test_metrics_values.py",
    "tests/test_e2e.py",
    "tests/test_share_secrecy.py",
    "tests/test_recs_controls.py",
    "tests/test_e2e_untrusted.py",
    "tests/test_app.py",
    "tests/test_loader_files.py",
    "tests/test_dbt_hygiene.py",
    "tests/test_generator.py",
    "tests/test_dbt_snapshot.py",
    "tests/test_dbt_duckdb_settings.py",
    "tests/test_app_built.py",
    "tests/test_app_privacy.py",
    "tests/test_dbt_quality.py",
    "tests/test_dbt_make_build.py",
    "tests/test_dbt_macros.py",
    "tests/test_compose.py",
)

# Files with one long test per backend (a whole `dbt build` or `make build` each): each backend case is
# its own unit of work, so the two halves start side by side on the two workers.
SPLIT_FILES: frozenset[str] = frozenset(
    {
        "tests/test_build_publish.py",
        "tests/test_order_lines.py",
        "tests/test_categories.py",
        "tests/test_metrics_values.py",
        "tests/test_dbt_reload.py",
        "tests/test_dbt_validity_vars.py",
        "tests/test_metrics_kpi_cli.py",
    }
)
SPLIT_CASES: tuple[str, ...] = ("duckdb", "postgres")


def worker_id(env: Mapping[str, str] | None = None) -> str | None:
    """The xdist worker's name (`gw0`, `gw1`...) or None in a serial run (or on the controller)."""
    value = (os.environ if env is None else env).get(WORKER_VARIABLE, "")
    return value if value.startswith("gw") and value[2:].isdigit() else None


def worker_index(env: Mapping[str, str] | None = None) -> int | None:
    """The worker's number (gw3 -> 3) or None in a serial run."""
    name = worker_id(env)
    return None if name is None else int(name[2:])


def pg_database_name(base: str, env: Mapping[str, str] | None = None) -> str:
    """The worker's own Postgres database: `<base>_gwN`; `base` itself in a serial run."""
    name = worker_id(env)
    return base if name is None else f"{base}_{name}"[:PG_NAME_LIMIT]


def scratch_database_name(database: str, label: str, token: str) -> str:
    """A test's own database, named after the run's database: `<database>_<label>_<token>`, <= 63 chars.

    The token (random hex) is kept whole at the end, so truncating a long database name keeps names unique.
    """
    suffix = f"_{label}_{token}"
    return database[: max(PG_NAME_LIMIT - len(suffix), 0)] + suffix


def port_range(env: Mapping[str, str] | None = None) -> range | None:
    """The TCP ports this worker may listen on (its own block of PORTS_PER_WORKER); None in a serial run."""
    index = worker_index(env)
    if index is None:
        return None
    start = PORT_BASE + index * PORTS_PER_WORKER
    return range(start, start + PORTS_PER_WORKER)


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(env: Mapping[str, str] | None = None) -> int:
    """A TCP port nobody listens on right now: from the worker's `port_range()`, any port when serial.

    The scan starts at an offset taken from the process id, so two runs' workers of the same number
    (another checkout testing at the same time) rarely try the same ports first.
    """
    ports = port_range(env)
    if ports is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    start = os.getpid() % len(ports)
    for step in range(len(ports)):
        port = ports[(start + step) % len(ports)]
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def worker_env(root: Path, base_db: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables that give this worker its own files under `root` and its own database; {} when serial.

    Tests that build a warehouse still pass their own paths; these defaults cover everything that
    would otherwise write to data/, dbt_c360/target or dbt_c360/logs shared by both workers.
    """
    if worker_id(env) is None:
        return {}
    return {
        "C360_PG_DB": pg_database_name(base_db, env),
        "C360_DUCKDB_PATH": str(root / "c360.duckdb"),
        "C360_SPARK_DIR": str(root / "spark"),
        "C360_APP_DATA_DIR": str(root / "app"),
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
        "TMPDIR": str(root / "tmp"),
    }


def file_of(nodeid: str) -> str:
    """The test file of a node id, relative to the repository (`tests/test_x.py`)."""
    return nodeid.split("::", 1)[0]


def order_key(nodeid: str, slow_files: tuple[str, ...] = SLOW_FILES) -> int:
    """Sort key of a test: its file's place in `slow_files`, or len(slow_files) for every other file."""
    path = file_of(nodeid)
    return slow_files.index(path) if path in slow_files else len(slow_files)


def split_scope(nodeid: str, split_files: frozenset[str] = SPLIT_FILES) -> str:
    """The unit of work of a test: its file, or `file::<case>` for a backend case of a `split_files` file."""
    path = file_of(nodeid)
    if path not in split_files or "[" not in nodeid or not nodeid.endswith("]"):
        return path
    params = nodeid[nodeid.index("[") + 1 : -1].split("-")
    case = next((p for p in params if p in SPLIT_CASES), None)
    return path if case is None else f"{path}::{case}"


def make_scheduler(config: Any, log: Any, split_files: frozenset[str] = SPLIT_FILES) -> Any:
    """The loadfile scheduler that keeps the (slow-first) collection order and splits `split_files`."""
    from xdist.scheduler import LoadFileScheduling

    class SlowFirstFileScheduling(LoadFileScheduling):
        """`--dist loadfile` in collection order, SPLIT_FILES split per backend case."""

        def __init__(self, config: Any, log: Any = None) -> None:
            super().__init__(config, log)
            # xdist would re-sort the units by their number of tests; the collection order is slow-first.
            config.option.loadscopereorder = False

        def _split_scope(self, nodeid: str) -> str:
            return split_scope(nodeid, split_files)

    return SlowFirstFileScheduling(config, log)
