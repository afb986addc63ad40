"""A local SparkSession configured exactly like the dbt profile's `spark` target.

The configuration is read from `dbt_c360/profiles.yml` (target `spark`,
`server_side_parameters`) and rendered with the same environment as dbt
(`c360.config.dbt_env()`), so the loader, the tests and dbt share one absolute
warehouse directory and one Derby metastore under `C360_SPARK_DIR`.

Derby (the embedded metastore) accepts one JVM at a time and stays booted until
the JVM exits, so Spark work that must be followed by dbt runs in its own process
(`python -m data_gen.load.spark`, `python -m c360.spark dump ...`).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import yaml

from c360 import config

if TYPE_CHECKING:  # pyspark is an optional dependency (make setup-spark)
    from pyspark.sql import SparkSession

TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
PROFILE_NAME = "c360"
# The profile's Spark outputs: local session mode, and the same session on the local standalone
# cluster (c360/cluster.py). DBT_TARGET picks one; anything else reads `spark`.
SPARK_OUTPUTS = ("spark", "spark_cluster")
# dbt-spark forces this in session mode (dbt/adapters/spark/connections.py); keep the same semantics.
DBT_FORCED_PARAMETERS = {"spark.sql.ansi.enabled": "false"}


def _render(value: Any, env: Mapping[str, str]) -> Any:
    """Render a profile value the way dbt does for `env_var` (the only macro the profile uses)."""
    if not isinstance(value, str) or "{{" not in value:
        return value

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is None:
            raise KeyError(f"profiles.yml needs environment variable {name}")
        return default

    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(value)
    return template.render(env_var=env_var)


def spark_conf(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Spark configuration of the profile's Spark target (`spark`, or `spark_cluster` when
    DBT_TARGET says so), rendered with `env`.

    `env` defaults to `c360.config.dbt_env()` (absolute `C360_SPARK_DIR`).
    """
    env = dict(config.dbt_env() if env is None else env)
    name = env.get("DBT_TARGET") if env.get("DBT_TARGET") in SPARK_OUTPUTS else SPARK_OUTPUTS[0]
    profiles_path = config.DBT_PROJECT_DIR / "profiles.yml"
    profile = yaml.safe_load(profiles_path.read_text())
    try:
        output = profile[PROFILE_NAME]["outputs"][name]
    except KeyError as exc:
        raise KeyError(f"{profiles_path}: no output {PROFILE_NAME}.outputs.{name}") from exc
    params = output.get("server_side_parameters") or {}
    conf = {str(key): str(_render(value, env)) for key, value in params.items()}
    conf.update(DBT_FORCED_PARAMETERS)
    return conf


def get_session(env: Mapping[str, str] | None = None, app_name: str = "c360") -> SparkSession:
    """A SparkSession with Hive support and the profile's configuration (as dbt-spark builds it)."""
    from pyspark.sql import SparkSession

    conf = spark_conf(env)
    Path(conf["spark.sql.warehouse.dir"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app_name).enableHiveSupport()
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def stop_session(spark: SparkSession) -> None:
    """Stop the session. Derby stays booted until this process exits (another JVM must wait)."""
    spark.stop()


@contextmanager
def session(env: Mapping[str, str] | None = None, app_name: str = "c360") -> Iterator[SparkSession]:
    """Context manager around `get_session` that always stops the session."""
    spark = get_session(env, app_name)
    try:
        yield spark
    finally:
        stop_session(spark)


def dump_tables(spark: SparkSession, tables: Sequence[str], out_dir: Path) -> dict[str, int]:
    """Write each `schema.table` to `<out_dir>/<schema>.<table>.parquet`; return row counts."""
    import pyarrow.parquet as pq

    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name in tables:
        if not TABLE_NAME.match(name):
            raise ValueError(f"not a schema.table name: {name!r}")
        arrow = spark.table(name).toArrow()
        pq.write_table(arrow, out_dir / f"{name}.parquet")
        counts[name] = arrow.num_rows
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: `python -m c360.spark dump --out DIR schema.table ...` (reads the profile's warehouse)."""
    parser = argparse.ArgumentParser(description="Local Spark helpers (profile target `spark`).")
    sub = parser.add_subparsers(dest="command", required=True)
    dump = sub.add_parser("dump", help="export tables to Parquet files")
    dump.add_argument("--out", type=Path, required=True)
    dump.add_argument("tables", nargs="+")
    args = parser.parse_args(argv)
    with session(app_name="c360-dump") as spark:
        counts = dump_tables(spark, args.tables, args.out)
    for name, rows in counts.items():
        print(f"{name}: {rows} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
