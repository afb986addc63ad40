"""One place that reads the project's environment variables.

Every entry point (loader, dbt wrapper, app, tests) resolves the engine and the
connection settings here, so `DBT_TARGET`, `C360_DUCKDB_PATH` and `C360_PG_*` mean
the same thing everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_c360"
TARGETS = ("duckdb", "postgres", "spark", "spark_cluster")


@dataclass(frozen=True)
class PgSettings:
    """Postgres connection settings (docker-compose defaults)."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    def dsn(self) -> str:
        """A libpq keyword DSN for psycopg2."""
        return (
            f"host={self.host} port={self.port} user={self.user} "
            f"password={self.password} dbname={self.dbname}"
        )


# Bounds of every DuckDB connection (dbt's through profiles.yml, the loader's, the warehouse's).
# 4GB + 2 threads keep a 1M-customer `dbt build` (19 GB unbounded) under 8 GB peak: DuckDB
# spills joins, aggregates and sorts to the temp directory instead. profiles.yml repeats
# these defaults for a bare `dbt` call (tests/test_dbt_duckdb_settings.py checks they agree).
DUCKDB_MEMORY_LIMIT = "4GB"
DUCKDB_THREADS = 2


@dataclass(frozen=True)
class DuckDbSettings:
    """DuckDB's `memory_limit`, `threads` and spill directory (`temp_directory`).

    `temp_directory` None means DuckDB's own default, `<database file>.tmp`.
    """

    memory_limit: str
    threads: int
    temp_directory: Path | None

    def connect_config(self, database: Path) -> dict[str, str]:
        """The `config=` of `duckdb.connect` for the database file `database`."""
        spill = self.temp_directory or database.with_name(database.name + ".tmp")
        return {"memory_limit": self.memory_limit, "threads": str(self.threads), "temp_directory": str(spill)}


def duckdb_settings(env: Mapping[str, str] | None = None) -> DuckDbSettings:
    """`C360_DUCKDB_MEMORY_LIMIT` / `_THREADS` / `_TEMP_DIR` in `env` (default the process env)."""
    values = os.environ if env is None else env
    threads = values.get("C360_DUCKDB_THREADS") or str(DUCKDB_THREADS)
    if not threads.isdigit() or int(threads) < 1:
        raise ValueError(f"C360_DUCKDB_THREADS={threads!r} is not a positive whole number")
    temp = values.get("C360_DUCKDB_TEMP_DIR")
    temp_path = None if not temp else Path(temp) if Path(temp).is_absolute() else REPO_ROOT / temp
    return DuckDbSettings(
        memory_limit=values.get("C360_DUCKDB_MEMORY_LIMIT") or DUCKDB_MEMORY_LIMIT,
        threads=int(threads),
        temp_directory=temp_path,
    )


def target(env: Mapping[str, str] | None = None) -> str:
    """The engine chosen by `DBT_TARGET` (default `duckdb`) in `env` (default the process env)."""
    value = (os.environ if env is None else env).get("DBT_TARGET", "duckdb").strip().lower()
    if value not in TARGETS:
        raise ValueError(f"DBT_TARGET={value!r} is not one of {', '.join(TARGETS)}")
    return value


def duckdb_path(env: Mapping[str, str] | None = None) -> Path:
    """Absolute path of the DuckDB warehouse file (`C360_DUCKDB_PATH` in `env`, default the process env)."""
    raw = Path((os.environ if env is None else env).get("C360_DUCKDB_PATH", "data/c360.duckdb"))
    return raw if raw.is_absolute() else (REPO_ROOT / raw)


def spark_dir() -> Path:
    """Absolute directory holding the local Spark warehouse and Derby metastore."""
    raw = Path(os.environ.get("C360_SPARK_DIR", "data/spark"))
    return raw if raw.is_absolute() else (REPO_ROOT / raw)


def app_data_dir() -> Path:
    """Absolute directory of the app's own files (saved audiences): `C360_APP_DATA_DIR`, default data/app."""
    raw = Path(os.environ.get("C360_APP_DATA_DIR", "data/app"))
    return raw if raw.is_absolute() else (REPO_ROOT / raw)


def dbt_target_path() -> Path:
    """Absolute dbt artifacts dir: `DBT_TARGET_PATH` (relative = to the repo root) or dbt_c360/target."""
    raw = os.environ.get("DBT_TARGET_PATH")
    if not raw:
        return DBT_PROJECT_DIR / "target"
    path = Path(raw)
    return path if path.is_absolute() else REPO_ROOT / path


def pg_settings(env: Mapping[str, str] | None = None) -> PgSettings:
    """Postgres settings from `C360_PG_HOST/PORT/USER/PASSWORD/DB` in `env` (default the process env)."""
    values = os.environ if env is None else env
    return PgSettings(
        host=values.get("C360_PG_HOST", "localhost"),
        port=int(values.get("C360_PG_PORT", "5432")),
        user=values.get("C360_PG_USER", "dbt"),
        password=values.get("C360_PG_PASSWORD", "dbt"),
        dbname=values.get("C360_PG_DB", "dbt"),
    )


def dbt_env() -> dict[str, str]:
    """The environment for a dbt/mf subprocess, with absolute paths filled in."""
    env = dict(os.environ)
    env["DBT_TARGET"] = target()
    env["C360_DUCKDB_PATH"] = str(duckdb_path())
    env["C360_SPARK_DIR"] = str(spark_dir())
    duck = duckdb_settings()
    env["C360_DUCKDB_MEMORY_LIMIT"] = duck.memory_limit
    env["C360_DUCKDB_THREADS"] = str(duck.threads)
    if duck.temp_directory is not None:  # unset: the profile spills beside C360_DUCKDB_PATH
        env["C360_DUCKDB_TEMP_DIR"] = str(duck.temp_directory)
    env.setdefault("DBT_PROFILES_DIR", str(DBT_PROJECT_DIR))
    return env


def sample_dir() -> Path:
    """The exercise's own raw sample (`C360_SAMPLE_DIR`, default `../shared/exercise_sample`).

    CI lays a copy of `shared/` beside the clone, so the default is relative to the repo root.
    """
    raw = os.environ.get("C360_SAMPLE_DIR")
    return Path(raw) if raw else REPO_ROOT.parent / "shared" / "exercise_sample"


IDENTITY_THRESHOLD = 0.9  # match probability from which a scored pair is one person
IDENTITY_REVIEW_FLOOR = 0.2  # pairs from this probability on are kept for review


def identity_thresholds(env: Mapping[str, str] | None = None) -> tuple[float, float]:
    """(match threshold, review floor): `C360_IDENTITY_THRESHOLD` (default 0.9) and
    `C360_IDENTITY_REVIEW_FLOOR` (default 0.2), match probabilities in (0, 1], floor <= threshold."""
    values = os.environ if env is None else env
    out = []
    for name, default in (("C360_IDENTITY_THRESHOLD", IDENTITY_THRESHOLD),
                          ("C360_IDENTITY_REVIEW_FLOOR", IDENTITY_REVIEW_FLOOR)):  # fmt: skip
        text = values.get(name) or str(default)
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{name}={text!r} is not a number") from None
        if not 0.0 < value <= 1.0:
            raise ValueError(f"{name}={text!r} must be a probability in (0, 1]")
        out.append(value)
    if out[1] > out[0]:
        raise ValueError(f"C360_IDENTITY_REVIEW_FLOOR ({out[1]}) is above C360_IDENTITY_THRESHOLD ({out[0]})")
    return out[0], out[1]


def generator_manifest(env: Mapping[str, str] | None = None) -> Path:
    """The generator's manifest.json of the loaded data, the truth of generated data:
    `C360_GENERATOR_MANIFEST`, default `data/raw/manifest.json` (where `make data` and the build's
    own generation write it). The identity step scores its clusters against it
    (c360/identity/evaluate.py) and the recommender step writes the oracle from it
    (c360/recs/step.py), each only when it describes the loaded contacts."""
    values = os.environ if env is None else env
    raw = (values.get("C360_GENERATOR_MANIFEST") or "").strip()
    return Path(raw) if raw else REPO_ROOT / "data" / "raw" / "manifest.json"
