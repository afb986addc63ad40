"""Load the dbt semantic manifest and build a (cached) MetricFlow engine for SQL generation.

The manifest written by `dbt parse`/`dbt build` embeds the database of the target that
wrote it (DuckDB: the file's stem; Postgres: the dbname). Our schemas have the same names
on every target (`marts`, see docs/CONTRACT.md) and the client executes the SQL on a
connection that is already in the right database, so relations are rewritten to
`"<schema>"."<table>"`: one manifest then serves DuckDB and Postgres alike.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from metricflow.engine.metricflow_engine import MetricFlowEngine
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow.sql.render.postgres import PostgresSQLSqlPlanRenderer
from metricflow.sql.render.sql_plan_renderer import SqlPlanRenderer
from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

from c360 import config

MANIFEST_NAME = "semantic_manifest.json"
SQL_ENGINES = {"duckdb": SqlEngine.DUCKDB, "postgres": SqlEngine.POSTGRES}


def manifest_path() -> Path:
    """Where the current environment's semantic manifest lives."""
    return config.dbt_target_path() / MANIFEST_NAME


class RenderOnlySqlClient:
    """The SqlClient MetricFlow needs for rendering; execution is done by `c360.warehouse`."""

    def __init__(self, engine: str) -> None:
        """`engine` is `duckdb` or `postgres`."""
        if engine not in SQL_ENGINES:
            raise ValueError(f"the metrics client supports {', '.join(SQL_ENGINES)}, not {engine!r}")
        self._engine = SQL_ENGINES[engine]
        self._renderer: SqlPlanRenderer = (
            DuckDbSqlPlanRenderer() if engine == "duckdb" else PostgresSQLSqlPlanRenderer()
        )

    @property
    def sql_engine_type(self) -> SqlEngine:
        """The SQL dialect MetricFlow renders."""
        return self._engine

    @property
    def sql_plan_renderer(self) -> SqlPlanRenderer:
        """The dialect's renderer."""
        return self._renderer

    def _no_execution(self, *_: Any, **__: Any) -> Any:
        raise NotImplementedError("c360.metrics executes SQL itself; MetricFlow only renders it")

    query = execute = dry_run = _no_execution

    def close(self) -> None:
        """Nothing to close: this client holds no connection."""

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        """Not used: MetricFlow renders no bind parameters for our queries."""
        return f"%({bind_parameter_key})s"


def _neutral_relation(node_relation: dict[str, Any]) -> None:
    """Drop the target's database so the relation reads `"schema"."alias"` on every engine."""
    node_relation["database"] = None
    node_relation["relation_name"] = f'"{node_relation["schema_name"]}"."{node_relation["alias"]}"'


def load_manifest_json(path: Path) -> dict[str, Any]:
    """The raw semantic manifest with target-neutral relations; clear error when it is missing."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: run `make build` (or `dbt parse`) with the same DBT_TARGET_PATH first"
        )
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for semantic_model in raw.get("semantic_models", []):
        _neutral_relation(semantic_model["node_relation"])
    for time_spine in raw.get("project_configuration", {}).get("time_spines", []):
        _neutral_relation(time_spine["node_relation"])
    for legacy in raw.get("project_configuration", {}).get("time_spine_table_configurations", []):
        legacy["location"] = ".".join(f'"{p.strip(chr(34))}"' for p in legacy["location"].split(".")[-2:])
    return raw


@dataclass(eq=False)
class EngineHandle:
    """A MetricFlow engine plus the lock that serialises its (not thread-safe) planning.

    Hashed by identity, so it can key the per-engine caches in `c360.metrics.client`.
    """

    engine: MetricFlowEngine
    raw_manifest: dict[str, Any]
    lock: threading.Lock = field(default_factory=threading.Lock)


@lru_cache(maxsize=4)
def engine_for(path: str, mtime_ns: int, engine: str) -> EngineHandle:
    """Build (once per manifest version and dialect) the engine used to render SQL.

    `mtime_ns` is part of the cache key so a fresh `dbt parse` is picked up.
    """
    del mtime_ns  # only part of the cache key
    raw = load_manifest_json(Path(path))
    manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=json.dumps(raw))
    lookup = SemanticManifestLookup(manifest)
    return EngineHandle(engine=MetricFlowEngine(lookup, RenderOnlySqlClient(engine)), raw_manifest=raw)


def current_engine(path: Path, engine: str) -> EngineHandle:
    """The cached engine for the manifest at `path` as it is now."""
    if not path.exists():
        load_manifest_json(path)  # raises the explanatory FileNotFoundError
    return engine_for(str(path.resolve()), path.stat().st_mtime_ns, engine)
