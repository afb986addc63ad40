"""Shared pytest fixtures: raw data sets, an isolated Postgres database, built warehouses.

Every warehouse fixture works in its own temp directory (own DuckDB file, own
DBT_TARGET_PATH) or its own Postgres database, passes its settings to dbt through the
subprocess environment, and never leaves os.environ changed. Full `dbt build`s are
expensive (~20-40 s each), so the built warehouses are session-scoped and shared.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pandas as pd
import psycopg2
import pytest
import workers

from c360 import config
from c360.dbt_runner import dbt_executable, run_dbt

GENERATED_CUSTOMERS = 2000
GENERATED_SEED = 7
GENERATED_DAYS = 365
# Fixed "now" of the generated data set, so every session generates the same rows.
GENERATED_NOW = datetime(2025, 6, 30, 12, 0, 0, tzinfo=UTC)


@dataclass
class Warehouse:
    """A built (or buildable) warehouse in an isolated location.

    env: the variables that point dbt and the loader at this warehouse (C360_DUCKDB_PATH or
    C360_PG_*, DBT_TARGET, DBT_TARGET_PATH); pass them to subprocesses, never to os.environ.
    """

    target: str
    env: dict[str, str]
    target_path: Path
    raw_dir: Path | None = None
    duckdb_path: Path | None = None
    pg: config.PgSettings | None = None
    build: Any = field(default=None, repr=False)

    def dbt(self, args: list[str], check: bool = True) -> Any:
        """Run dbt against this warehouse (returns the CompletedProcess)."""
        return run_dbt(args, target=self.target, target_path=self.target_path, check=check, env=self.env)

    def load(self, contacts: Path, transactions: Path) -> Any:
        """Load raw files with data_gen.load.loader.load into this warehouse."""
        from data_gen.load.loader import load

        with patched_environ(self.env):
            return load(self.target, contacts=contacts, transactions=transactions)

    def query(self, sql: str, params: tuple[Any, ...] | None = None) -> pd.DataFrame:
        """Run one read-only query and return a DataFrame (connection closed afterwards)."""
        if self.target == "duckdb":
            assert self.duckdb_path is not None
            con = duckdb.connect(str(self.duckdb_path), read_only=True)
            try:
                return con.execute(sql, params or ()).df()
            finally:
                con.close()
        assert self.pg is not None
        with psycopg2.connect(self.pg.dsn()) as con, con.cursor() as cur:
            cur.execute(sql, params)
            columns = [d.name for d in cur.description]
            frame = pd.DataFrame(cur.fetchall(), columns=columns)
        con.close()
        return frame


def import_script(name: str) -> ModuleType:
    """`scripts/<name>.py` imported as a module (scripts/ is not a package)."""
    path = config.REPO_ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Temporarily set environment variables for an in-process call (restored afterwards)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in values.items():
            patch.setenv(key, value)
        yield


def _ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The exercise's raw sample (contacts.csv, transactions.csv); read-only."""
    path = config.sample_dir()
    if not (path / "contacts.csv").is_file():
        pytest.fail(f"exercise sample not found at {path} (set C360_SAMPLE_DIR)")
    return path


@pytest.fixture(scope="session")
def generated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~2000 generated customers with the default defects, fixed seed and fixed now (CSV + manifest.json)."""
    from data_gen.generate.generator import generate

    out = tmp_path_factory.mktemp("generated")
    generate(
        customers=GENERATED_CUSTOMERS,
        seed=GENERATED_SEED,
        out=out,
        days=GENERATED_DAYS,
        fmt="csv",
        defects="default",
        now=GENERATED_NOW,
    )
    return out


def _pg_admin() -> Any:
    """An autocommit connection to the server's `postgres` database with the run's base settings.

    Skips when Postgres is unreachable, except under CI=true where that is a failure.
    """
    base = config.pg_settings()
    admin_settings = config.PgSettings(base.host, base.port, base.user, base.password, "postgres")
    try:
        admin = psycopg2.connect(admin_settings.dsn(), connect_timeout=5)
    except psycopg2.OperationalError as exc:
        if _ci():
            pytest.fail(f"Postgres is required under CI=true: {exc}")
        pytest.skip(f"Postgres not reachable: {exc}")
    admin.autocommit = True
    return admin


@contextmanager
def new_pg_database(label: str = "test", template: str | None = None) -> Iterator[config.PgSettings]:
    """Create a Postgres database owned by the dbt role with a unique name; drop it afterwards.

    The name starts with the run's database (`<C360_PG_DB>_gwN` on an xdist worker, see
    tests/workers.py), so a leftover database says which run and worker made it.
    `template`: copy that database (its other sessions are ended first, as Postgres requires).
    Skips when Postgres is unreachable, except under CI=true where that is a failure.
    """
    base = config.pg_settings()
    name = workers.scratch_database_name(base.dbname, label, uuid.uuid4().hex[:12])
    admin = _pg_admin()
    with admin.cursor() as cur:
        if template is None:
            cur.execute(f'create database "{name}"')  # name is generated above, not user input
        else:
            cur.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                (template,),
            )
            # Both names are generated by this module, not user input.
            cur.execute(f'create database "{name}" template "{template}"')
    try:
        yield config.PgSettings(base.host, base.port, base.user, base.password, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@contextmanager
def worker_pg_database(name: str) -> Iterator[None]:
    """Create the xdist worker's own empty database `name` (replacing a leftover); drop it after.

    Postgres down: nothing is created (the tests that need Postgres skip, or fail under CI=true,
    when they ask for their database); the DuckDB tests of the worker still run.
    """
    base = config.pg_settings()
    admin_settings = config.PgSettings(base.host, base.port, base.user, base.password, "postgres")
    try:
        admin = psycopg2.connect(admin_settings.dsn(), connect_timeout=5)
    except psycopg2.OperationalError:
        yield
        return
    admin.autocommit = True
    with admin.cursor() as cur:  # name is `<C360_PG_DB>_gwN` (tests/workers.py), not user input
        cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute(f'create database "{name}"')
    try:
        yield
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@pytest.fixture(scope="session", autouse=True)
def worker_isolation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """On an xdist worker: its own database, files, TMPDIR and ports for the whole session (tests/workers.py).

    Applied to os.environ before any other session fixture runs (autouse, session scope) and undone at
    the end; a serial run is left as it is.
    """
    root = tmp_path_factory.getbasetemp() / "worker"
    env = workers.worker_env(root, config.pg_settings().dbname)
    if not env:
        yield
        return
    for key in ("DBT_TARGET_PATH", "DBT_LOG_PATH", "C360_APP_DATA_DIR", "C360_SPARK_DIR", "TMPDIR"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    with worker_pg_database(env["C360_PG_DB"]), pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        patch.setattr(tempfile, "tempdir", env["TMPDIR"])  # tempfile caches the directory it found first
        yield


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile`: keep the slow-first order and split SPLIT_FILES per backend (tests/workers.py)."""
    if config.getvalue("dist") != "loadfile":
        return None
    return workers.make_scheduler(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On xdist workers, the files of workers.SLOW_FILES first (stable sort: other files keep their order)."""
    if workers.worker_id() is not None:
        items.sort(key=lambda item: workers.order_key(item.nodeid))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[config.PgSettings]:
    """The session's shared Postgres database (the built `pg_warehouse_generated` lives here).

    Tests that load or build their own data must use `fresh_pg_database` instead.
    """
    with new_pg_database("test") as settings:
        yield settings


@pytest.fixture
def fresh_pg_database() -> Iterator[config.PgSettings]:
    """A Postgres database of this test alone, dropped after it."""
    with new_pg_database("fresh") as settings:
        yield settings


def duckdb_warehouse(directory: Path) -> Warehouse:
    """An empty isolated DuckDB warehouse in `directory`."""
    db_path = directory / "c360.duckdb"
    target_path = directory / "target"
    env = {"DBT_TARGET": "duckdb", "C360_DUCKDB_PATH": str(db_path), "DBT_TARGET_PATH": str(target_path)}
    return Warehouse("duckdb", env, target_path, duckdb_path=db_path)


def pg_warehouse(settings: config.PgSettings, directory: Path) -> Warehouse:
    """An isolated Postgres warehouse in the (empty) database of `settings`."""
    target_path = directory / "target"
    env = {
        "DBT_TARGET": "postgres",
        "C360_PG_HOST": settings.host,
        "C360_PG_PORT": str(settings.port),
        "C360_PG_USER": settings.user,
        "C360_PG_PASSWORD": settings.password,
        "C360_PG_DB": settings.dbname,
        "DBT_TARGET_PATH": str(target_path),
    }
    return Warehouse("postgres", env, target_path, pg=settings)


def build_warehouse(warehouse: Warehouse, raw_dir: Path) -> Warehouse:
    """Load `raw_dir`'s contacts/transactions CSVs and run `dbt build` (raises on any failure)."""
    warehouse.raw_dir = raw_dir
    warehouse.load(raw_dir / "contacts.csv", raw_dir / "transactions.csv")
    warehouse.build = warehouse.dbt(["build"])
    return warehouse


@pytest.fixture(scope="session")
def duckdb_warehouse_generated(tmp_path_factory: pytest.TempPathFactory, generated_dir: Path) -> Warehouse:
    """DuckDB warehouse built from the generated data set."""
    return build_warehouse(duckdb_warehouse(tmp_path_factory.mktemp("wh_duckdb_gen")), generated_dir)


@pytest.fixture(scope="session")
def duckdb_warehouse_sample(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Warehouse:
    """DuckDB warehouse built from the exercise sample."""
    return build_warehouse(duckdb_warehouse(tmp_path_factory.mktemp("wh_duckdb_sample")), sample_dir)


@pytest.fixture(scope="session")
def pg_warehouse_generated(
    tmp_path_factory: pytest.TempPathFactory, pg_database: config.PgSettings, generated_dir: Path
) -> Warehouse:
    """Postgres warehouse (its own database) built from the generated data set."""
    return build_warehouse(pg_warehouse(pg_database, tmp_path_factory.mktemp("wh_pg_gen")), generated_dir)


# ---------- the app's small contract-shaped DuckDB warehouse (tests/test_app*.py) ----------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built demo warehouse (400 customers) shared read-only by the module's tests."""
    from app_store import write_duckdb
    from test_app_support import demo_frames

    path = tmp_path_factory.mktemp("app_demo") / "c360.duckdb"
    write_duckdb(path, demo_frames())
    return path


def parse_semantic_manifest(project: Path, target: Path) -> Path:
    """`dbt parse` of the dbt project at `project` into `target`; the semantic manifest's path.

    The manifest only depends on the YAML and the contract's schema names (the client rewrites
    relations to `"schema"."table"`), so it serves every test warehouse of that shape.
    """
    env = config.dbt_env()
    env.update({"DBT_TARGET": "duckdb", "DBT_TARGET_PATH": str(target)})
    env["C360_DUCKDB_PATH"] = str(target / "parse_only.duckdb")
    command = [dbt_executable(), "parse", "--quiet", "--project-dir", str(project)]
    command += ["--profiles-dir", str(config.DBT_PROJECT_DIR)]
    result = subprocess.run(command, env=env, cwd=project, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"dbt parse failed: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return target / "semantic_manifest.json"


@pytest.fixture(scope="session")
def semantic_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's semantic manifest, parsed once per session (the app's metrics read it)."""
    return parse_semantic_manifest(config.DBT_PROJECT_DIR, tmp_path_factory.mktemp("semantic") / "target")


@pytest.fixture
def use_db(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Path]]:
    """Point the app at a DuckDB file (artifacts dir in tmp_path); returns that artifacts dir.

    `metrics=True` also puts the session's semantic manifest there (the Overview's metrics).
    """
    import streamlit as st
    from test_app_helpers import point_app_at

    def point(path: Path, metrics: bool = False) -> Path:
        target = tmp_path / "target"
        point_app_at(
            monkeypatch,
            {
                "DBT_TARGET": "duckdb",
                "C360_DUCKDB_PATH": str(path),
                "DBT_TARGET_PATH": str(target),
                "C360_APP_DATA_DIR": str(tmp_path / "app"),
            },
        )
        if metrics:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(request.getfixturevalue("semantic_manifest"), target / "semantic_manifest.json")
        return target

    yield point
    st.cache_data.clear()
