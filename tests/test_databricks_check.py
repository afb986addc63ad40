"""The offline Databricks check's own rules (scripts/databricks_compile.py).

`make check-databricks` runs the check itself in its own venv (dbt-databricks cannot install
beside this project's dbt-core pin); these tests show that its rules catch what they are for,
on manifests shaped like dbt's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import import_script

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "databricks_compile.py"


@pytest.fixture(scope="module")
def check() -> Any:
    return import_script("databricks_compile")


def manifest(macros: list[str], nodes: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"metadata": {"project_name": "c360"}, "macros": {f"macro.c360.{m}": {} for m in macros},
            "nodes": nodes or {}}


def test_dispatch_must_fall_through_to_the_projects_spark_variant(check: Any) -> None:
    m = manifest(["safe_to_date", "spark__safe_to_date", "default__safe_to_date", "default__pii_classes"])
    good = {("c360", "safe_to_date"): "macro.c360.spark__safe_to_date",
            ("c360", "pii_classes"): "macro.c360.default__pii_classes"}
    assert check.check_dispatch(m, good, dict(good)) == []
    wrong = {**good, ("c360", "safe_to_date"): "macro.c360.default__safe_to_date"}
    problems = check.check_dispatch(m, wrong, good)
    assert len(problems) == 2 and all("safe_to_date" in p for p in problems)


def test_a_databricks_override_is_expected_where_the_project_defines_one(check: Any) -> None:
    m = manifest(["databricks__x", "spark__x", "default__x"])
    assert check.expected_resolution(m, "c360", "x") == "macro.c360.databricks__x"
    assert check.check_dispatch(m, {("c360", "x"): "macro.c360.databricks__x"},
                                {("c360", "x"): "macro.c360.spark__x"}) == []
    assert check.check_dispatch(m, {}, {}) == ["no adapter.dispatch call of namespace 'c360' was recorded"]


def test_merge_models_and_snapshots_must_use_databricks_own_materializations(check: Any) -> None:
    merge = {"incremental_strategy": "merge"}
    nodes = {"model.c360.transactions": {"resource_type": "model", "config": merge},
             "snapshot.c360.contacts_snapshot": {"resource_type": "snapshot", "config": {}},
             "model.c360.customers": {"resource_type": "model", "config": {}}}
    m = manifest([], nodes)
    dbx = {"model.c360.transactions": "macro.dbt_databricks.materialization_incremental_databricks",
           "snapshot.c360.contacts_snapshot": "macro.dbt_databricks.materialization_snapshot_databricks"}
    spark = {"model.c360.transactions": "macro.c360.materialization_incremental_spark",
             "snapshot.c360.contacts_snapshot": "macro.c360.materialization_snapshot_spark"}
    problems, checked = check.check_delta(m, dbx, spark)
    assert problems == [] and checked == ["model.c360.transactions", "snapshot.c360.contacts_snapshot"]
    # the Parquet rewrite leaking onto Databricks, and a non-Delta format, are both caught
    leaked = {**dbx, "model.c360.transactions": "macro.c360.materialization_incremental_spark"}
    nodes["snapshot.c360.contacts_snapshot"]["config"]["file_format"] = "parquet"
    problems, _ = check.check_delta(m, leaked, spark)
    assert any("transactions" in p and "databricks" in p for p in problems)
    assert any("contacts_snapshot" in p and "parquet" in p for p in problems)


def test_documented_columns_stand_in_for_built_relations(check: Any) -> None:
    columns = check.documented_columns()
    assert "customer_id" in columns["customers"] and "partner_key" not in columns["customers"]
    assert columns["transactions"], "the marts YAML documents the fact's columns"
