"""Publish whole builds: the candidate warehouse, the build marker and the build status file.

`make build` never writes the warehouse readers see until a build has passed:

- DuckDB: the published file (raw schemas included) is copied to a candidate file of the same
  name in the hidden directory `.<name>.next/` beside it (same name, so the DuckDB catalog and
  every view's references stay the same), dbt builds the candidate, the marker row is written
  into it, and `os.replace` swaps it over the published path in one atomic rename. Readers
  open the file per query (`c360.warehouse`), so they see the old build or the new one, never
  a mix; a reader holding the old file keeps reading the old inode until it closes.
- Postgres: dbt builds into shadow schemas `<schema>__next` (generate_schema_name appends
  `C360_SCHEMA_SUFFIX`), seeded with copies of the published tables so incremental models and
  snapshots see their previous state; after the build passed, one transaction writes the marker
  into `quality__next`, renames every published schema to `<schema>__prev`, every shadow schema
  to its published name, and drops the `__prev` schemas. Readers see the old build or the new.
- Spark: dbt builds in place (publishing is a no-op there; docs/warehouse.md).

The marker table `quality.build_status` (one row: build id, target, started/finished, status)
is published with the build. The status file `build_status.json` in DBT_TARGET_PATH records
the current attempt (its step, then `succeeded` or `failed` with the cause); an attempt that
was killed stays `running` with a dead pid. The app compares the two (c360/app/artifacts.py).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from c360 import config

MARKER_SCHEMA = "quality"
MARKER_TABLE = "build_status"
STATUS_FILE = "build_status.json"
LEFTOVER_SUFFIXES = ("__dbt_backup", "__dbt_tmp")


class PublishError(RuntimeError):
    """The candidate warehouse could not be prepared or published; the message says what to do."""


def now_utc() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class BuildAttempt:
    """One `make build` attempt, written to `build_status.json` at each step."""

    target: str
    build_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: str = field(default_factory=now_utc)
    pid: int = field(default_factory=os.getpid)
    step: str = "start"
    status: str = "running"
    finished_at: str | None = None
    cause: str | None = None

    def save(self, artifacts: Path) -> None:
        """Write the attempt to `artifacts/build_status.json` atomically (write aside, rename)."""
        artifacts.mkdir(parents=True, exist_ok=True)
        aside = artifacts / f".{STATUS_FILE}.{self.pid}"
        aside.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(aside, artifacts / STATUS_FILE)

    def at(self, step: str, artifacts: Path) -> None:
        """Record that the attempt has reached `step`."""
        self.step = step
        self.save(artifacts)

    def finish(self, artifacts: Path, cause: str | None = None) -> None:
        """Record the end: `succeeded` without a cause, else `failed` with it."""
        self.status = "failed" if cause else "succeeded"
        self.cause = cause
        self.finished_at = now_utc()
        self.save(artifacts)


def read_attempt(artifacts: Path) -> dict[str, object] | None:
    """The last attempt recorded in `artifacts/build_status.json`, None when absent or unreadable."""
    try:
        value = json.loads((artifacts / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def pid_alive(pid: object) -> bool:
    """True when process `pid` exists (a running attempt whose process died was killed)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def candidate_path(published: Path) -> Path:
    """The candidate file of `published`: same name in the hidden directory `.<name>.next/` beside it."""
    return published.parent / f".{published.name}.next" / published.name


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


SOURCE_STAMP = "published.stamp"


def _file_stamp(path: Path) -> list[int]:
    """What changes when any process writes `path` (or its WAL): inode, size and mtime of both."""
    stamp: list[int] = []
    for part in (path, _wal(path)):
        if part.exists():
            info = part.stat()
            stamp += [info.st_ino, info.st_size, info.st_mtime_ns]
        else:
            stamp += [0, 0, 0]
    return stamp


def prepare_duckdb_candidate(published: Path) -> Path:
    """A fresh candidate copy of `published` (raw schemas, incremental tables and snapshots
    included), leftovers of a stopped build removed; returns its path.

    Raises PublishError when another process writes the published file (a load in progress).
    """
    candidate = candidate_path(published)
    shutil.rmtree(candidate.parent, ignore_errors=True)
    candidate.parent.mkdir(parents=True)
    if not published.is_file():
        raise PublishError(f"no warehouse file {published} to build from: load data first (`make data`)")
    try:  # a shared read lock: fails only while a writer (the loader) holds the file
        duckdb.connect(str(published), read_only=True).close()
    except duckdb.Error as exc:
        if "lock" not in str(exc).lower():
            raise PublishError(f"cannot open the warehouse file {published}: {exc}") from exc
        raise PublishError(
            f"the warehouse file {published} is locked by another writer (a load in progress?); "
            f"wait for it to finish and run `make build` again ({exc})"
        ) from exc
    stamp = _file_stamp(published)
    shutil.copy2(published, candidate)
    (candidate.parent / SOURCE_STAMP).write_text(json.dumps(stamp))
    if _wal(published).exists():  # a writer died before its checkpoint: the copy replays it
        shutil.copy2(_wal(published), _wal(candidate))
    with duckdb.connect(str(candidate)) as con:
        for schema, name, kind in _leftovers(con):
            con.execute(f'drop {kind} if exists "{schema}"."{name}"')
        con.execute("checkpoint")
    return candidate


def _leftovers(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(schema, name, 'table'|'view') of relations a stopped dbt run left (`__dbt_backup`, `__dbt_tmp`)."""
    rows = con.execute(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_catalog = current_database()"
    ).fetchall()
    return [
        (schema, name, "view" if kind == "VIEW" else "table")
        for schema, name, kind in rows
        if name.endswith(LEFTOVER_SUFFIXES)
    ]


MARKER_DDL = (
    f"create schema if not exists {MARKER_SCHEMA}",
    f"drop table if exists {MARKER_SCHEMA}.{MARKER_TABLE}",
    f"create table {MARKER_SCHEMA}.{MARKER_TABLE} (build_id text, target text, started_at text, "
    "finished_at text, status text)",
)
MARKER_INSERT = f"insert into {MARKER_SCHEMA}.{MARKER_TABLE} values (?, ?, ?, ?, 'succeeded')"


def write_duckdb_marker(path: Path, attempt: BuildAttempt) -> None:
    """Write the marker row of a passed `attempt` into the DuckDB file `path` and checkpoint it."""
    with duckdb.connect(str(path)) as con:
        for statement in MARKER_DDL:
            con.execute(statement)
        con.execute(MARKER_INSERT, [attempt.build_id, attempt.target, attempt.started_at, now_utc()])
        con.execute("checkpoint")


SCHEMA_SUFFIX_ENV = "C360_SCHEMA_SUFFIX"  # read by dbt_c360/macros/schema/generate_schema_name.sql
NEXT_SUFFIX = "__next"
PREV_SUFFIX = "__prev"
PG_LOCK_TIMEOUT = "60s"


def dbt_schemas() -> list[str]:
    """Every schema dbt builds into (the `+schema` values of dbt_project.yml, plus the marker's)."""
    project = yaml.safe_load((config.DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    # identity and recs_model: written by the build's identity and recommender steps
    found: set[str] = {MARKER_SCHEMA, "identity", "recs_model"}

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "+schema" and isinstance(item, str):
                    found.add(item)
                walk(item)

    walk(project)
    return sorted(found)


def _execute(dsn: str, statements: Callable[[Any], None]) -> None:
    """Run `statements(cursor)` in one Postgres transaction (committed when it returns)."""
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con, con.cursor() as cur:
            statements(cur)
    finally:
        con.close()


def _ident(*parts: str) -> Any:
    from psycopg2 import sql

    return sql.Identifier(*parts)


def _sql(text: str, *identifiers: Any) -> Any:
    from psycopg2 import sql

    return sql.SQL(text).format(*identifiers)


def prepare_postgres_shadow(dsn: str, schemas: list[str]) -> None:
    """Fresh `<schema>__next` schemas holding copies of the published tables (one transaction);
    shadow and `__prev` schemas a stopped build left are dropped first."""

    def statements(cur: Any) -> None:
        for schema in schemas:
            for suffix in (NEXT_SUFFIX, PREV_SUFFIX):
                cur.execute(_sql("drop schema if exists {} cascade", _ident(schema + suffix)))
            cur.execute(_sql("create schema {}", _ident(schema + NEXT_SUFFIX)))
            cur.execute(
                "select table_name from information_schema.tables "
                "where table_schema = %s and table_type = 'BASE TABLE'",
                [schema],
            )
            for (table,) in cur.fetchall():
                if table.endswith(LEFTOVER_SUFFIXES) or (schema, table) == (MARKER_SCHEMA, MARKER_TABLE):
                    continue
                source, copy = _ident(schema, table), _ident(schema + NEXT_SUFFIX, table)
                like = "create table {} (like {} including all excluding statistics)"
                cur.execute(_sql(like, copy, source))
                cur.execute(_sql("insert into {} select * from {}", copy, source))

    _execute(dsn, statements)


def publish_postgres(dsn: str, schemas: list[str], attempt: BuildAttempt) -> None:
    """In one transaction: the marker row into the shadow `quality`, published schemas renamed to
    `__prev`, shadow schemas to the published names, `__prev` dropped."""
    marker = f"{MARKER_SCHEMA}{NEXT_SUFFIX}"

    def statements(cur: Any) -> None:
        cur.execute(f"set local lock_timeout = '{PG_LOCK_TIMEOUT}'")
        for statement in MARKER_DDL:
            cur.execute(statement.replace(MARKER_SCHEMA, marker, 1))
        cur.execute(
            MARKER_INSERT.replace("?", "%s").replace(f"{MARKER_SCHEMA}.", f"{marker}."),
            [attempt.build_id, attempt.target, attempt.started_at, now_utc()],
        )
        cur.execute("select nspname from pg_namespace")
        existing = {row[0] for row in cur.fetchall()}
        for schema in schemas:
            if schema + NEXT_SUFFIX not in existing:
                continue
            rename = "alter schema {} rename to {}"
            if schema in existing:
                cur.execute(_sql(rename, _ident(schema), _ident(schema + PREV_SUFFIX)))
            cur.execute(_sql(rename, _ident(schema + NEXT_SUFFIX), _ident(schema)))
            cur.execute(_sql("drop schema if exists {} cascade", _ident(schema + PREV_SUFFIX)))

    try:
        _execute(dsn, statements)
    except Exception as exc:
        raise PublishError(
            f"could not swap the shadow schemas in ({exc}); readers holding locks longer than "
            f"{PG_LOCK_TIMEOUT}? The published build is unchanged; run `make build` again"
        ) from exc


def discard_postgres_shadow(dsn: str, schemas: list[str]) -> None:
    """Drop the shadow schemas of a failed build (the published schemas stay as they were)."""

    def statements(cur: Any) -> None:
        for schema in schemas:
            cur.execute(_sql("drop schema if exists {} cascade", _ident(schema + NEXT_SUFFIX)))

    _execute(dsn, statements)


def publish_duckdb(candidate: Path, published: Path) -> None:
    """Atomically replace `published` by the passed `candidate` and remove the candidate directory."""
    if _wal(candidate).exists():
        raise PublishError(f"the candidate {candidate} was not checkpointed; run `make build` again")
    # The raw schemas live in the same file: a load that ran while dbt built the copy would be
    # undone by the swap, so a published file that changed since the copy is never replaced.
    stamp_file = candidate.parent / SOURCE_STAMP
    if not stamp_file.is_file() or json.loads(stamp_file.read_text()) != _file_stamp(published):
        shutil.rmtree(candidate.parent, ignore_errors=True)
        raise PublishError(
            f"the warehouse file {published} changed while this build ran (a load?); it is kept as "
            "it is and this build is not published: run `make build` again"
        )
    _wal(published).unlink(missing_ok=True)  # replayed into the candidate; must not meet the new file
    os.replace(candidate, published)
    shutil.rmtree(candidate.parent, ignore_errors=True)


def discard_duckdb_candidate(published: Path) -> None:
    """Remove the candidate directory of `published` (a failed build leaves the published file as it was)."""
    shutil.rmtree(candidate_path(published).parent, ignore_errors=True)
