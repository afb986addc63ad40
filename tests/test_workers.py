"""tests/workers.py: what each xdist worker gets for itself, and the slow-first split schedule."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import workers

SERIAL: dict[str, str] = {}
GW0 = {"PYTEST_XDIST_WORKER": "gw0"}
GW1 = {"PYTEST_XDIST_WORKER": "gw1"}
TESTS_DIR = Path(__file__).resolve().parent


def test_a_serial_run_keeps_the_base_names(tmp_path: Path) -> None:
    assert workers.worker_id(SERIAL) is None and workers.worker_index(SERIAL) is None
    assert workers.worker_id({"PYTEST_XDIST_WORKER": "master"}) is None
    assert workers.pg_database_name("c360_ci", SERIAL) == "c360_ci"
    assert workers.port_range(SERIAL) is None
    assert workers.worker_env(tmp_path, "c360_ci", SERIAL) == {}


def test_two_workers_get_their_own_database_paths_and_ports(tmp_path: Path) -> None:
    assert (workers.worker_id(GW0), workers.worker_index(GW1)) == ("gw0", 1)
    envs = [workers.worker_env(tmp_path / name, "c360_ci", env) for name, env in (("a", GW0), ("b", GW1))]
    assert [env["C360_PG_DB"] for env in envs] == ["c360_ci_gw0", "c360_ci_gw1"]
    assert set(envs[0]) == set(envs[1])
    for key in set(envs[0]) - {"C360_PG_DB"}:
        assert envs[0][key] != envs[1][key], key
        assert Path(envs[0][key]).is_relative_to(tmp_path / "a") and Path(envs[1][key]).is_relative_to(
            tmp_path / "b"
        )
    ports0, ports1 = workers.port_range(GW0), workers.port_range(GW1)
    assert ports0 is not None and ports1 is not None
    assert len(ports0) == len(ports1) == workers.PORTS_PER_WORKER
    assert set(ports0).isdisjoint(ports1)


def test_a_worker_database_name_stays_within_the_postgres_limit() -> None:
    long_base = "c" * 70
    assert workers.pg_database_name(long_base, GW1) == long_base[:63]
    names = {
        workers.scratch_database_name(f"{long_base}_gw1", "fresh", token) for token in ("a" * 12, "b" * 12)
    }
    assert len(names) == 2 and all(
        len(name) == 63 and name.endswith("_fresh_" + name[-12:]) for name in names
    )
    assert (
        workers.scratch_database_name("c360_ci_gw0", "test", "0123456789ab")
        == "c360_ci_gw0_test_0123456789ab"
    )


def test_free_port_comes_from_the_worker_range_and_skips_a_taken_port() -> None:
    env = {"PYTEST_XDIST_WORKER": "gw7"}
    ports = workers.port_range(env)
    assert ports is not None
    first = workers.free_port(env)
    assert first in ports
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", first))
        listener.listen()
        second = workers.free_port(env)
        assert second in ports and second != first
    serial = workers.free_port(SERIAL)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", serial))  # really free


def test_split_scope_puts_each_backend_case_of_a_split_file_in_its_own_unit() -> None:
    split = frozenset({"tests/test_big.py"})
    scope = [
        workers.split_scope(nodeid, split)
        for nodeid in (
            "tests/test_big.py::test_a[duckdb]",
            "tests/test_big.py::test_b[postgres-day]",
            "tests/test_big.py::test_b[duckdb-day]",
            "tests/test_big.py::test_c",
            "tests/test_big.py::test_d[day]",
            "tests/test_small.py::test_e[postgres]",
        )
    ]
    assert scope == [
        "tests/test_big.py::duckdb",
        "tests/test_big.py::postgres",
        "tests/test_big.py::duckdb",
        "tests/test_big.py",
        "tests/test_big.py",
        "tests/test_small.py",
    ]


def test_order_key_puts_slow_files_first_slowest_first() -> None:
    slow = ("tests/test_slowest.py", "tests/test_slow.py")
    nodeids = [
        "tests/test_a.py::t",
        "tests/test_slow.py::t",
        "tests/test_b.py::t",
        "tests/test_slowest.py::t",
    ]
    ordered = sorted(nodeids, key=lambda nodeid: workers.order_key(nodeid, slow))
    assert ordered == [
        "tests/test_slowest.py::t",
        "tests/test_slow.py::t",
        "tests/test_a.py::t",
        "tests/test_b.py::t",
    ]
    assert all(path.startswith("tests/test_") and path.endswith(".py") for path in workers.SLOW_FILES)
    assert workers.SPLIT_FILES <= set(workers.SLOW_FILES)
    assert all((TESTS_DIR.parent / path).is_file() for path in workers.SLOW_FILES)


def test_two_xdist_workers_run_the_slow_file_first_and_its_halves_side_by_side(tmp_path: Path) -> None:
    """A real `pytest -n 2 --dist loadfile` with the scheduler: who ran what, in which order."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent("""
        import workers

        SLOW = ("test_slow.py",)

        def pytest_xdist_make_scheduler(config, log):
            return workers.make_scheduler(config, log, frozenset(SLOW))

        def pytest_collection_modifyitems(items):
            items.sort(key=lambda item: workers.order_key(item.nodeid, SLOW))
    """)
    )
    record = textwrap.dedent("""
        import json, os, time, pytest

        def record(request):
            with open(os.environ["RECORD"], "a") as out:
                row = [os.environ["PYTEST_XDIST_WORKER"], request.node.nodeid, time.time()]
                out.write(json.dumps(row) + "\\n")
    """)
    for name in ("test_a.py", "test_b.py", "test_c.py"):
        (tmp_path / name).write_text(
            record + "\n\n@pytest.mark.parametrize('n', range(6))\ndef test_x(request, n):\n"
            "    record(request)\n"
        )
    (tmp_path / "test_slow.py").write_text(
        record
        + textwrap.dedent("""

        @pytest.mark.parametrize("engine", ["duckdb", "postgres"])
        @pytest.mark.parametrize("n", range(3))
        def test_y(request, engine, n):
            time.sleep(0.3)
            record(request)
    """)
    )
    out = tmp_path / "record.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env.update({"RECORD": str(out), "PYTHONPATH": str(TESTS_DIR)})
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "--dist",
        "loadfile",
    ]
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = sorted((json.loads(line) for line in out.read_text().splitlines()), key=lambda row: row[2])
    assert len(rows) == 3 * 6 + 6
    by_worker: dict[str, list[str]] = {}
    for worker, nodeid, _ in rows:
        by_worker.setdefault(worker, []).append(nodeid)
    assert set(by_worker) == {"gw0", "gw1"}
    halves = {}
    for worker, nodeids in by_worker.items():
        slow = [nodeid for nodeid in nodeids if nodeid.startswith("test_slow.py")]
        assert nodeids[: len(slow)] == slow  # the slow file's tests are the first each worker ran
        halves[worker] = {nodeid.split("-")[-1].rstrip("]") for nodeid in slow}
    assert sorted(map(sorted, halves.values())) == [["duckdb"], ["postgres"]]
    for name in ("test_a.py", "test_b.py", "test_c.py"):  # an unsplit file stays on one worker
        assert sum(any(n.startswith(name) for n in nodeids) for nodeids in by_worker.values()) == 1
