"""DuckDB's memory limit, threads and spill directory reach every connection the project opens.

dbt's (profiles.yml `settings:`), the warehouse layer's (app, metrics client, share export)
and the loader's: all from `C360_DUCKDB_MEMORY_LIMIT`, `C360_DUCKDB_THREADS` and
`C360_DUCKDB_TEMP_DIR` through `c360.config.duckdb_settings`, with the same defaults.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from c360 import config
from c360.dbt_runner import run_dbt
from c360.warehouse import Warehouse, query
from tests.conftest import patched_environ

SETTINGS_SQL = (
    "select current_setting('memory_limit') as memory_limit, current_setting('threads') as threads, "
    "current_setting('temp_directory') as temp_directory"
)
BOUNDS = {"C360_DUCKDB_MEMORY_LIMIT": "1536MiB", "C360_DUCKDB_THREADS": "1"}


def _as_duckdb_reports(memory_limit: str) -> str:
    """How DuckDB itself shows `memory_limit` when set to this value (e.g. `1.5 GiB`)."""
    with duckdb.connect(config={"memory_limit": memory_limit}) as con:
        row = con.execute("select current_setting('memory_limit')").fetchone()
    assert row is not None
    return str(row[0])


def _dbt_show_settings(env: dict[str, str], target_path: Path) -> dict[str, Any]:
    """`dbt show` of the settings on dbt's own DuckDB connection (a dbt run's session)."""
    result = run_dbt(
        ["show", "--inline", SETTINGS_SQL, "--output", "json", "--log-format", "text", "--quiet"],
        target="duckdb",
        target_path=target_path,
        env=env,
    )
    payload = json.loads(result.stdout[result.stdout.index("{") :])
    (row,) = payload["show"]
    return dict(row)


def test_profile_defaults_are_the_config_defaults() -> None:
    profile = (config.DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8")
    defaults = dict(re.findall(r"env_var\('(C360_DUCKDB_(?:MEMORY_LIMIT|THREADS))', '([^']*)'\)", profile))
    assert defaults == {
        "C360_DUCKDB_MEMORY_LIMIT": config.DUCKDB_MEMORY_LIMIT,
        "C360_DUCKDB_THREADS": str(config.DUCKDB_THREADS),
    }


def test_dbt_connection_takes_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("C360_DUCKDB_MEMORY_LIMIT", "C360_DUCKDB_THREADS", "C360_DUCKDB_TEMP_DIR"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "wh.duckdb"
    spill = tmp_path / "spill"
    env = {"C360_DUCKDB_PATH": str(db), **BOUNDS, "C360_DUCKDB_TEMP_DIR": str(spill)}
    shown = _dbt_show_settings(env, tmp_path / "target")
    expected = {"memory_limit": _as_duckdb_reports("1536MiB"), "threads": 1, "temp_directory": str(spill)}
    assert shown == expected

    # Nothing set: the project's defaults, spilling beside the database file.
    shown = _dbt_show_settings({"C360_DUCKDB_PATH": str(db)}, tmp_path / "target")
    assert shown == {
        "memory_limit": _as_duckdb_reports(config.DUCKDB_MEMORY_LIMIT),
        "threads": config.DUCKDB_THREADS,
        "temp_directory": f"{db}.tmp",
    }


def test_warehouse_connections_take_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "wh.duckdb"
    duckdb.connect(str(db)).close()
    spill = tmp_path / "spill"
    env = {"DBT_TARGET": "duckdb", "C360_DUCKDB_PATH": str(db), **BOUNDS, "C360_DUCKDB_TEMP_DIR": str(spill)}
    got = query(Warehouse.from_env(env), SETTINGS_SQL).iloc[0].to_dict()
    assert got == {"memory_limit": _as_duckdb_reports("1536MiB"), "threads": 1, "temp_directory": str(spill)}

    # A Warehouse built without settings reads them from the environment when it opens the file.
    monkeypatch.setenv("C360_DUCKDB_MEMORY_LIMIT", "768MiB")
    monkeypatch.delenv("C360_DUCKDB_TEMP_DIR", raising=False)
    got = query(Warehouse("duckdb", duckdb_path=db), SETTINGS_SQL).iloc[0].to_dict()
    assert got["memory_limit"] == _as_duckdb_reports("768MiB")
    assert got["temp_directory"] == f"{db}.tmp"


def test_loader_connection_takes_the_settings(
    tmp_path: Path, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data_gen.load.loader import load

    expected = (_as_duckdb_reports("1536MiB"), 1, str(tmp_path / "spill"))
    seen: list[tuple[Any, ...]] = []
    connect = duckdb.connect

    def recording_connect(database: str, *args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        con = connect(database, *args, **kwargs)
        seen.append(con.execute(SETTINGS_SQL).fetchone() or ())
        return con

    monkeypatch.setattr(duckdb, "connect", recording_connect)
    db = tmp_path / "raw.duckdb"
    spill = tmp_path / "spill"
    env = {"DBT_TARGET": "duckdb", "C360_DUCKDB_PATH": str(db), **BOUNDS, "C360_DUCKDB_TEMP_DIR": str(spill)}
    with patched_environ(env):
        load("duckdb", contacts=sample_dir / "contacts.csv", transactions=sample_dir / "transactions.csv")
    assert seen == [expected]
    with connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from web.transactions").fetchone() == (102,)


def test_bad_thread_count_is_refused() -> None:
    with pytest.raises(ValueError, match="C360_DUCKDB_THREADS='many'"):
        config.duckdb_settings({"C360_DUCKDB_THREADS": "many"})
