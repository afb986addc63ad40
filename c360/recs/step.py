"""The recommender step of `make build`: the learned model and, on generated data, the oracle.

It runs after `dbt build` passed and before publish, on the warehouse the build writes (the
DuckDB candidate file, or the Postgres shadow schemas `<schema>__next`), never on the published
one. It writes, into `recs_model` (`recs_model__next` on Postgres):

- `lightgbm_scores`: c360.recs.model's three scopes (LightGBM lambdarank), so that the
  validation window can choose `lightgbm` as the served method. Skipped, with one line, when
  `C360_RECS_MODEL=off`, on Spark, or when a scope has too few labelled customers;
- `oracle_lists`: c360.recs.oracle's lists (the generator's true odds), when the loaded data is
  the output of the generator whose `manifest.json` is at `C360_GENERATOR_MANIFEST` (default
  data/raw/manifest.json, where `make data` and the build's own generation write it): its
  contact count equals the raw table's and at least MIN_MATCHED of the test customers are its
  people. Then `marts.next_best_category_evaluation` has method = 'oracle' rows; never on own data.

Then the recommender models are rebuilt (`dbt build` of the two staging models and everything
downstream), with their own artifacts in `<DBT_TARGET_PATH>/recs_step` so the build's
run_results.json stays the whole build's. `clear` drops both tables from the build's copy
before dbt runs, so the published build's scores (of older data) are never read.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from c360 import config
from c360.warehouse import Warehouse, query

SCHEMA = "recs_model"
TABLES = ("lightgbm_scores", "oracle_lists")
ORACLE_TABLE = "oracle_lists"
ORACLE_COLUMNS = {
    "customer_id": "text", "rank": "integer", "category": "text", "odds": "double precision",
    "cutoff_date": "date",
}  # fmt: skip
MODEL_ENV = "C360_RECS_MODEL"  # off: no learned step
MIN_MATCHED = 0.95  # share of test customers the oracle must know for its row to be written
STEP_TARGET = "recs_step"


@dataclass
class StepResult:
    """What the step did: printed lines, and the failure message when the rebuild failed."""

    lines: list[str] = field(default_factory=list)
    error: str | None = None


def excluded_categories() -> list[str]:
    """`recs_excluded_categories` of dbt_project.yml's vars (what the build's dbt run used)."""
    project = yaml.safe_load((config.DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    value = (project.get("vars") or {}).get("recs_excluded_categories") or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _warehouse(target: str, dbt_env: dict[str, str]) -> Warehouse:
    if target == "duckdb":
        return Warehouse("duckdb", duckdb_path=Path(dbt_env["C360_DUCKDB_PATH"]))
    return Warehouse("postgres", pg=config.pg_settings())


def _suffix(dbt_env: dict[str, str]) -> str:
    from c360.publish import SCHEMA_SUFFIX_ENV

    return dbt_env.get(SCHEMA_SUFFIX_ENV, "")


def clear(target: str, dbt_env: dict[str, str]) -> None:
    """Drop the step's tables from the warehouse this build writes (copied from the published
    build, they hold scores of older data), before dbt reads them."""
    if target not in ("duckdb", "postgres"):
        return
    schema = f"{SCHEMA}{_suffix(dbt_env)}"
    if target == "duckdb":
        import duckdb

        with duckdb.connect(dbt_env["C360_DUCKDB_PATH"]) as con:
            for table in TABLES:
                con.execute(f"drop table if exists {schema}.{table}")
            con.execute("checkpoint")
        return
    import psycopg2

    with psycopg2.connect(config.pg_settings().dsn()) as conn, conn.cursor() as cur:
        for table in TABLES:
            cur.execute(f"drop table if exists {schema}.{table}")


def learned(wh: Warehouse, suffix: str) -> tuple[bool, str]:
    """Train c360.recs.model on `wh` and write its scores; (written, line)."""
    from c360.recs import model

    started = time.perf_counter()
    data, validation_cutoff, cutoff = model.read_data(wh, excluded_categories(), suffix)
    scores = model.all_scores(data, validation_cutoff, cutoff)
    if scores is None:
        return False, (
            "recs model: skipped, too little data (a scope has fewer than "
            f"{model.MIN_TRAINING_CUSTOMERS} customers with a new-category purchase to learn from)"
        )
    model.write_scores(wh, scores, suffix)
    customers = scores.loc[scores["scope"] == "production", "customer_id"].nunique()
    return True, (
        f"recs model: LightGBM trained and scored for 3 scopes ({customers:,} customers) "
        f"in {time.perf_counter() - started:.1f} s"
    )


def oracle(wh: Warehouse, suffix: str, path: Path | None = None) -> tuple[bool, str | None]:
    """Write the oracle's lists when the loaded data is the generated data of the manifest at
    `path` (default `config.generator_manifest()`); (written, line or None when there is no manifest)."""
    from c360.recs import oracle as recs_oracle

    path = path or config.generator_manifest()
    manifest = recs_oracle.read_manifest(path)
    if manifest is None:
        return False, None
    contacts = int(query(wh, "select count(*) as n from salesforce.contacts")["n"].iloc[0])
    if contacts != manifest["files"]["contacts"]["rows"]:
        return False, f"recs oracle: not written (the loaded contacts are not those of {path})"
    started = time.perf_counter()
    events, training = recs_oracle.read_inputs(wh, suffix)
    lists = recs_oracle.oracle_lists(recs_oracle.manifest_latent(manifest), events, training)
    matched = lists["customer_id"].nunique() / max(len(events), 1)
    if not len(events) or matched < MIN_MATCHED:
        return False, (
            f"recs oracle: not written ({matched:.0%} of the test customers are people of {path}, "
            f"{MIN_MATCHED:.0%} needed)"
        )
    cutoff = query(wh, f"select cutoff_date from marts{suffix}.next_best_category_cutoff")[
        "cutoff_date"
    ].iloc[0]
    from c360.recs import model

    model.write_table(
        wh, ORACLE_TABLE, lists.assign(cutoff_date=pd.Timestamp(cutoff).date()), ORACLE_COLUMNS, suffix
    )
    return True, (
        f"recs oracle: lists of {matched:.0%} of {len(events):,} test customers from the generator's "
        f"odds in {time.perf_counter() - started:.1f} s"
    )


def rebuild(target: str, dbt_env: dict[str, str], artifacts: Path) -> tuple[bool, str]:
    """`dbt build` of the staging models of recs_model and everything downstream, artifacts in
    `artifacts/recs_step` (partial parse state copied from the build's)."""
    from c360.dbt_runner import run_dbt
    from c360.recs.model import REBUILD_SELECTION

    step_target = artifacts / STEP_TARGET
    step_target.mkdir(parents=True, exist_ok=True)
    if (artifacts / "partial_parse.msgpack").is_file():
        shutil.copy2(artifacts / "partial_parse.msgpack", step_target / "partial_parse.msgpack")
    started = time.perf_counter()
    result = run_dbt(
        ["build", "--select", *REBUILD_SELECTION],
        target=target,
        target_path=step_target,
        check=False,
        env=dbt_env,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        return False, f"dbt build of the recommender (recs step) failed, exit {result.returncode}:\n{tail}"
    served = query(
        _warehouse(target, dbt_env),
        f"select distinct served_method from marts{_suffix(dbt_env)}.next_best_category_evaluation",
    )["served_method"]
    return (
        True,
        f"recs rebuild: recommender models rebuilt in {seconds:.1f} s; served method: {', '.join(served)}",
    )


def run(target: str, dbt_env: dict[str, str], artifacts: Path) -> StepResult:
    """The step (see the module docstring) on the warehouse of `dbt_env`."""
    result = StepResult()
    if target not in ("duckdb", "postgres"):
        result.lines.append(
            f"recs model: not run on {target} (the scores are written by the DuckDB and Postgres "
            "clients; the recommender serves the SQL model or a baseline)"
        )
        return result
    started = time.perf_counter()
    wh, suffix = _warehouse(target, dbt_env), _suffix(dbt_env)
    written = False
    if os.environ.get(MODEL_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        result.lines.append(f"recs model: skipped ({MODEL_ENV}=off)")
    else:
        done, line = learned(wh, suffix)
        written |= done
        result.lines.append(line)
    done, line = oracle(wh, suffix)
    written |= done
    if line:
        result.lines.append(line)
    if written:
        ok, line = rebuild(target, dbt_env, artifacts)
        if not ok:
            result.error = line
            return result
        result.lines.append(line)
        result.lines.append(f"recs step: {time.perf_counter() - started:.1f} s added to the build")
    return result
