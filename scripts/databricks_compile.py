"""Offline check of the dbt project on the Databricks adapter (`make check-databricks`).

There is no Databricks workspace here, and `dbt compile` needs a live connection for the
relation look-ups behind `is_incremental()` and for `run_query`. This check runs dbt's own
parse and compile in-process with the adapter's few connection-bound methods replaced:
relations are reported absent (first pass: full builds) or present (second pass: incremental
runs), statements return an empty result, capability and version probes answer "newest".
Everything else is dbt-databricks as installed: macro dispatch (`databricks__` ->
`spark__` -> `default__`), the Jinja of every model, test, seed, snapshot and analysis, and the
materializations and configs dbt resolves for them.

It then checks:
- every enabled node compiled in both passes, non-empty (no dispatch or Jinja error); the share
  models, which read the built marts' columns, compile in the second pass (columns from YAML);
- every `adapter.dispatch` of this project's macros resolved, on Databricks, to the project's
  `databricks__` variant if it has one, else its `spark__`, else its `default__` variant, and to
  the same macro as on the `spark` target (recorded from dbt's own dispatch at compile time);
- models with `incremental_strategy='merge'` and the snapshots run on dbt-databricks' own Delta
  materializations (MERGE INTO), as dbt's own materialization lookup chooses them, while the
  `spark` target runs this project's Parquet rewrite (macros/spark/, `adapter='spark'`).
The compiled SQL itself differs between the two targets where dbt-databricks overrides dbt's
cross-database macros (dateadd, datediff, ...) and in three-part (catalog) relation names.
Not checked (needs a workspace): that the SQL runs, Unity Catalog grants, cluster behaviour.

    .venv-databricks/bin/python scripts/databricks_compile.py   # what `make check-databricks` runs
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import types
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest import mock

PROJECT = Path(__file__).resolve().parent.parent / "dbt_c360"
DUMMY_ENV = {
    "DATABRICKS_HOST": "dbc-00000000-0000.cloud.databricks.invalid",
    "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/0000000000000000",
    "DATABRICKS_TOKEN": "dapi-offline-check",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}
# The share models are enabled only when the share step runs, after a build (docs/pii_sharing.md);
# these vars enable them in the second pass, where the built relations "exist". The salt file is
# only named in the compiled SQL (read at run time), never read here.
SHARE_VARS = {"share_build": True, "share_salt_file": "/offline/check/share_salt"}


def _answer_from_seeds(sql: str, agate: Any) -> Any:
    """The result of `sql` when it reads only seeds (answered by DuckDB from the seed CSVs,
    e.g. the category list behind `customers`' columns), else an empty one-column table."""
    import duckdb

    seeds = {path.stem: path for path in (PROJECT / "seeds").glob("*.csv")}
    used = [name for name in seeds if re.search(rf"\b{name}\b", sql)]
    if not used:
        return agate.Table([], column_names=["value"], column_types=[agate.Text()])
    text = sql.replace("`", "")
    for name in used:
        text = re.sub(rf"[\w.]*\.{name}\b", name, text)
    with duckdb.connect() as con:
        for name in used:
            con.execute(f"create table {name} as select * from read_csv_auto(?, all_varchar=true)",
                        [str(seeds[name])])
        frame = con.execute(text).fetchall(), [d[0] for d in con.description]
    rows, names = frame
    return agate.Table(rows, column_names=names, column_types=[agate.Text()] * len(names))


def documented_columns() -> dict[str, list[str]]:
    """Column names of every model as its YAML documents them (the offline stand-in for a built
    relation's columns, which the share models read)."""
    import yaml

    columns: dict[str, list[str]] = {}
    for path in (PROJECT / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            columns[model["name"]] = [column["name"] for column in model.get("columns") or []]
    return columns


def _offline_patches(adapter_cls: type, relations_exist: bool) -> list[Any]:
    """Replace the adapter methods that need a connection; returns the patchers."""
    import agate
    from dbt.adapters.contracts.connection import AdapterResponse

    def get_relation(self: Any, database: Any, schema: str, identifier: str, **_: Any) -> Any:
        if not relations_exist:
            return None
        return self.Relation.create(database=database, schema=schema, identifier=identifier, type="table")

    def execute(self: Any, sql: str, auto_begin: bool = False, fetch: bool = False,
                limit: Any = None, **_: Any) -> tuple[Any, Any]:
        return AdapterResponse(_message="OK (offline)"), _answer_from_seeds(sql, agate)

    patches = {
        "get_relation": get_relation,
        "execute": execute,
        "get_columns_in_relation": lambda self, relation: [
            self.Column(column=name, dtype="string")
            for name in documented_columns().get(relation.identifier, [])
        ],
        "list_relations_without_caching": lambda self, schema_relation: [],
        "check_schema_exists": lambda self, database, schema: True,
    }
    for name in ("compare_dbr_version",):
        if hasattr(adapter_cls, name):
            patches[name] = lambda self, *a, **k: 1
    for name in ("has_capability", "has_dbr_capability"):
        if hasattr(adapter_cls, name):
            patches[name] = lambda self, *a, **k: True
    if hasattr(adapter_cls, "is_cluster"):
        patches["is_cluster"] = lambda self: False
    return [mock.patch.object(adapter_cls, name, value) for name, value in patches.items()]


def _recording_dispatch(resolved: dict[tuple[str, str], str]) -> Any:
    """A patcher of dbt's `adapter.dispatch` that records, for every call, which macro it chose."""
    from dbt.context.providers import BaseDatabaseWrapper

    original = BaseDatabaseWrapper.dispatch

    def dispatch(self: Any, macro_name: str, macro_namespace: str | None = None, packages: Any = None) -> Any:
        macro = original(self, macro_name, macro_namespace, packages)
        resolved[(macro_namespace or "", macro_name)] = macro.macro.unique_id
        return macro

    return mock.patch.object(BaseDatabaseWrapper, "dispatch", dispatch)


def compile_target(target: str, relations_exist: bool, out: Path,
                   resolved: dict[tuple[str, str], str]) -> dict[str, Any]:
    """`dbt compile` for `target` with the offline adapter; returns the manifest as a dict and
    fills `resolved` with the macro each `adapter.dispatch` call resolved to."""
    from dbt.cli.main import dbtRunner

    if target == "databricks":
        from dbt.adapters.databricks.impl import DatabricksAdapter as adapter_cls
    else:
        from dbt.adapters.spark.impl import SparkAdapter as adapter_cls
    target_path = out / f"{target}_{'incremental' if relations_exist else 'full'}"
    args = ["compile", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--target", target,
            "--target-path", str(target_path), "--log-path", str(out / "logs"), "--no-populate-cache",
            "--no-partial-parse"]
    if relations_exist:
        args += ["--vars", json.dumps(SHARE_VARS)]
    with ExitStack() as stack:
        for patcher in _offline_patches(adapter_cls, relations_exist):
            stack.enter_context(patcher)
        stack.enter_context(_recording_dispatch(resolved))
        # The spark target is `session` mode, whose profile check imports pyspark; no session is
        # ever opened offline, so an empty module stands in for it (pyspark is 400 MB).
        stack.enter_context(mock.patch.dict(sys.modules, {"pyspark": types.ModuleType("pyspark")}))
        result = dbtRunner().invoke(args)
    if not result.success:
        raise SystemExit(f"dbt compile for {target} ({'incremental' if relations_exist else 'full'}) "
                         f"failed: {result.exception or 'see ' + str(out / 'logs')}")
    return json.loads((target_path / "manifest.json").read_text())


def _compiled(manifest: dict[str, Any]) -> dict[str, str]:
    return {uid: node.get("compiled_code") or "" for uid, node in manifest["nodes"].items()
            if node["resource_type"] in {"model", "test", "snapshot", "analysis"}
            and node["config"].get("enabled", True)}


def chosen_materializations(target: str, out: Path) -> dict[str, str]:
    """For every enabled model and snapshot, the materialization macro dbt itself would run on
    `target` (dbt's own lookup: adapter-specific first, then its parent adapters, then default).
    Ephemeral models have none: dbt inlines them as CTEs into the nodes that read them."""
    from dbt.cli.main import dbtRunner

    args = ["parse", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--target", target,
            "--target-path", str(out / f"{target}_parse"), "--log-path", str(out / "logs"),
            "--no-partial-parse", "--vars", json.dumps(SHARE_VARS)]
    with mock.patch.dict(sys.modules, {"pyspark": types.ModuleType("pyspark")}):
        result = dbtRunner().invoke(args)
        if not result.success:
            raise SystemExit(f"dbt parse for {target} failed: {result.exception}")
        manifest = result.result
        return {uid: manifest.find_materialization_macro_by_name(
                    manifest.metadata.project_name, node.config.materialized, target).unique_id
                for uid, node in manifest.nodes.items()
                if node.resource_type in ("model", "snapshot") and node.config.enabled
                and node.config.materialized != "ephemeral"}


def expected_resolution(manifest: dict[str, Any], namespace: str, name: str) -> str | None:
    """What dbt's dispatch must choose on Databricks for a macro of this project: the first of
    `databricks__`, `spark__`, `default__` that the project defines."""
    for prefix in ("databricks", "spark", "default"):
        uid = f"macro.{namespace}.{prefix}__{name}"
        if uid in manifest["macros"]:
            return uid
    return None


def check_dispatch(manifest: dict[str, Any], dbx: dict[tuple[str, str], str],
                   spark: dict[tuple[str, str], str]) -> list[str]:
    """Problems with how the project's own dispatched macros resolved on Databricks."""
    project = manifest["metadata"].get("project_name") or "c360"
    problems = []
    own = {key: uid for key, uid in dbx.items() if key[0] == project}
    if not own:
        problems.append(f"no adapter.dispatch call of namespace {project!r} was recorded")
    for (namespace, name), uid in sorted(own.items()):
        expected = expected_resolution(manifest, namespace, name)
        if uid != expected:
            problems.append(f"dispatch {namespace}.{name}: databricks chose {uid}, expected {expected}")
        on_spark = spark.get((namespace, name))
        if on_spark is not None and on_spark != uid and ".databricks__" not in uid:
            problems.append(f"dispatch {namespace}.{name}: databricks {uid} but spark {on_spark}")
    return problems


def check_delta(
    manifest: dict[str, Any], dbx: dict[str, str], spark: dict[str, str]
) -> tuple[list[str], list[str]]:
    """Merge models and snapshots must run on dbt-databricks' own (Delta, MERGE INTO)
    materializations on Databricks, and this project's Parquet rewrite (macros/spark/, registered
    for `adapter='spark'`) only on Spark. Returns the problems and the nodes checked."""
    nodes = manifest["nodes"]
    checked = sorted(uid for uid, node in nodes.items() if node["resource_type"] == "snapshot"
                     or node["config"].get("incremental_strategy") == "merge")
    problems = []
    for uid in checked:
        if not dbx.get(uid, "").startswith("macro.dbt_databricks."):
            problems.append(f"{uid}: runs {dbx.get(uid)} on databricks, not dbt-databricks' own")
        if not spark.get(uid, "").startswith("macro.c360."):
            problems.append(f"{uid}: runs {spark.get(uid)} on spark, not the project's crash-safe rewrite")
        if nodes[uid]["config"].get("file_format") not in (None, "delta"):
            problems.append(f"{uid}: file_format {nodes[uid]['config']['file_format']!r} on databricks")
    if not checked:
        problems.append("no merge model or snapshot found")
    return problems, checked


def main() -> int:
    """Compile on both targets in both passes, check dispatch and Delta; exit 1 on any problem."""
    os.environ.update({k: os.environ.get(k, v) for k, v in DUMMY_ENV.items()})
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="c360_databricks_", ignore_cleanup_errors=True) as tmp:
        out = Path(tmp)
        counts = {}
        for relations_exist in (False, True):
            mode = "incremental" if relations_exist else "full"
            dbx_resolved: dict[tuple[str, str], str] = {}
            spark_resolved: dict[tuple[str, str], str] = {}
            dbx = compile_target("databricks", relations_exist, out, dbx_resolved)
            spark = compile_target("spark", relations_exist, out, spark_resolved)
            dbx_sql, spark_sql = _compiled(dbx), _compiled(spark)
            counts[mode] = len(dbx_sql)
            problems += [f"{mode}: {uid} compiled for databricks only"
                         for uid in dbx_sql.keys() - spark_sql.keys()]
            problems += [f"{mode}: {uid} empty on databricks"
                         for uid, sql in dbx_sql.items() if not sql.strip()]
            # the share models are disabled in the first pass on purpose (they need built marts)
            problems += [f"{mode}: {uid} is disabled, so it was not checked"
                         for uid, versions in (dbx.get("disabled") or {}).items()
                         if relations_exist or versions[0]["fqn"][1] != "share"]
            problems += [f"{mode}: {p}" for p in check_dispatch(dbx, dbx_resolved, spark_resolved)]
        own = sorted({f"{name} -> {uid.split('.')[-1]}"
                      for (namespace, name), uid in dbx_resolved.items() if namespace == "c360"})
        delta_problems, checked = check_delta(dbx, chosen_materializations("databricks", out),
                                              chosen_materializations("spark", out))
        problems += delta_problems
        print(f"databricks offline compile: {counts['full']} nodes (full build), {counts['incremental']} "
              "(incremental run)")
        print(f"project macros dispatched on databricks ({len(own)}): {', '.join(own)}")
        print("on dbt-databricks' own Delta materializations (the Parquet rewrite on spark only): "
              + ", ".join(uid.split(".")[-1] for uid in checked))
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    print("databricks check: " + ("FAILED" if problems else "passed"))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
