"""`python -m c360.metrics.mf` (make mf): dbt parse for the target, then the real `mf` CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from c360 import config
from c360.metrics import mf
from tests.conftest import Warehouse
from tests.metrics_expected import (
    NAMED_METRICS,
    assert_frames_match,
    client_for,
    read_marts,
    transaction_metrics,
    truncate,
)
from tests.metrics_warehouses import run_mf


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_mf_query_through_the_wrapper(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    warehouse: Warehouse = request.getfixturevalue(
        f"{'duckdb' if engine == 'duckdb' else 'pg'}_warehouse_generated"
    )
    # A fresh DBT_TARGET_PATH: the wrapper must parse into it and make mf read it (not dbt_c360/target).
    target_path = tmp_path / "target"
    out_csv = tmp_path / "out.csv"
    args = ["query", "--metrics", "total_spend", "--group-by", "metric_time__month,transaction__category"]
    run_mf(warehouse, target_path, [*args, "--csv", str(out_csv)])
    assert (target_path / "semantic_manifest.json").exists()
    got = pd.read_csv(out_csv)
    got["metric_time__month"] = pd.to_datetime(got["metric_time__month"]).astype("datetime64[us]")
    tx = read_marts(warehouse).transactions
    tx = tx.assign(
        metric_time__month=truncate(tx["transaction_at"], "month"), transaction__category=tx["category"]
    )
    expected = transaction_metrics(tx, ["metric_time__month", "transaction__category"])
    assert_frames_match(
        got,
        expected[["metric_time__month", "transaction__category", "total_spend"]],
        ["metric_time__month", "transaction__category"],
    )
    listing = run_mf(warehouse, target_path, ["list", "metrics"], skip_parse=True)
    assert "books_spend_share" in listing and "cohort_lifetime_repeat_rate" in listing
    validation = run_mf(warehouse, target_path, ["validate-configs"], skip_parse=True)
    assert "ERRORS: 0" in validation and "Successfully validated metrics against data warehouse" in validation

    # Every named metric through `mf query` gives what the Python client gives (the client's
    # values are checked against pandas in test_metrics_values.py).
    all_csv = tmp_path / "all.csv"
    run_mf(
        warehouse,
        target_path,
        [
            "query",
            "--metrics",
            ",".join(NAMED_METRICS),
            "--group-by",
            "metric_time__month",
            "--decimals",
            "10",
            "--csv",
            str(all_csv),
        ],
        skip_parse=True,
    )
    via_cli = pd.read_csv(all_csv)
    via_cli["metric_time__month"] = pd.to_datetime(via_cli["metric_time__month"]).astype("datetime64[us]")
    via_client = client_for(warehouse).query(NAMED_METRICS, time_grain="month")
    via_client = via_client[via_client["metric_time__month"].notna()]
    via_cli = via_cli[via_cli["metric_time__month"].notna()]
    assert len(via_client) >= 12
    assert_frames_match(via_cli, via_client, ["metric_time__month"], rtol=1e-6)


def test_wrapper_refuses_spark(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DBT_TARGET", "spark")
    assert mf.main(["list", "metrics"]) == 2
    assert "no adapter for DBT_TARGET=spark" in capsys.readouterr().err


def _project_copy(root: Path) -> Path:
    """dbt_c360 and the semantic models copied under `root` (so a test can edit them)."""
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml")
    shutil.copytree(config.DBT_PROJECT_DIR, root / config.DBT_PROJECT_DIR.name, ignore=ignore)
    shutil.copytree(config.REPO_ROOT / "semantic_models", root / "semantic_models")
    return root / config.DBT_PROJECT_DIR.name


def test_mf_parses_only_when_the_project_changed(
    duckdb_warehouse_generated: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = duckdb_warehouse_generated
    project = _project_copy(tmp_path / "repo")
    target_path = tmp_path / "target"
    for name, value in {**warehouse.env, "DBT_TARGET_PATH": str(target_path)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("C360_MF_SKIP_PARSE", raising=False)
    manifest = target_path / "semantic_manifest.json"

    def query(label: str) -> pd.DataFrame:
        out_csv = tmp_path / f"{label}.csv"
        args = ["query", "--metrics", "total_spend", "--group-by", "metric_time__month"]
        assert mf.run([*args, "--csv", str(out_csv)], project_dir=project) == 0
        return pd.read_csv(out_csv).sort_values("metric_time__month", ignore_index=True)

    first = query("first")  # fresh target dir: parses
    parsed_at = manifest.stat().st_mtime_ns
    second = query("second")  # nothing changed: no parse, the same manifest and answer
    assert manifest.stat().st_mtime_ns == parsed_at
    pd.testing.assert_frame_equal(first, second)
    tx = read_marts(warehouse).transactions
    expected = tx.groupby(truncate(tx["transaction_at"], "month"))["amount"].sum()
    months = pd.to_datetime(second["metric_time__month"]).astype("datetime64[us]")
    assert list(months) == list(expected.sort_index().index)
    assert second["total_spend"].to_numpy() == pytest.approx(expected.sort_index().to_numpy(), rel=1e-9)

    # An edited semantic YAML (a metric's label) is parsed again, and mf sees the edit.
    metrics_yml = project.parent / "semantic_models" / "metrics.yml"
    text = metrics_yml.read_text(encoding="utf-8")
    label = "label: Total spend"
    assert label in text
    metrics_yml.write_text(text.replace(label, "label: Total spend (edited)", 1), encoding="utf-8")
    query("edited")
    assert manifest.stat().st_mtime_ns != parsed_at
    assert "Total spend (edited)" in manifest.read_text(encoding="utf-8")
    parsed_at = manifest.stat().st_mtime_ns
    query("edited_again")
    assert manifest.stat().st_mtime_ns == parsed_at

    # Another DBT_TARGET is parsed again: the manifest then names the Postgres database.
    monkeypatch.setenv("DBT_TARGET", "postgres")
    monkeypatch.setenv("C360_PG_DB", "c360_mf_parse_check")
    assert mf.run(["list", "metrics"], project_dir=project) == 0
    assert manifest.stat().st_mtime_ns != parsed_at
    databases = {m["node_relation"]["database"] for m in json.loads(manifest.read_text())["semantic_models"]}
    assert databases == {"c360_mf_parse_check"}


def test_parse_inputs_hash_follows_what_parse_reads(tmp_path: Path) -> None:
    project = _project_copy(tmp_path / "repo")
    env = {"DBT_TARGET": "duckdb", "DBT_PROFILES_DIR": str(project), "C360_DUCKDB_PATH": "/a.duckdb"}
    base = mf.parse_inputs_hash(env, project)
    assert mf.parse_inputs_hash(dict(env), project) == base
    # Variables dbt does not read, and secrets, leave the hash alone.
    assert mf.parse_inputs_hash({**env, "C360_UNRELATED": "x", "C360_PG_PASSWORD": "y"}, project) == base
    # The target, a variable the profile reads, a macro, dbt_project.yml's vars, semantic YAML do not.
    changed = [
        mf.parse_inputs_hash({**env, "DBT_TARGET": "postgres"}, project),
        mf.parse_inputs_hash({**env, "C360_DUCKDB_PATH": "/b.duckdb"}, project),
    ]
    for edited in ("macros/engine/age_in_years.sql", "dbt_project.yml", "../semantic_models/metrics.yml"):
        path = project / edited
        original = path.read_text(encoding="utf-8")
        path.write_text(original + "\n", encoding="utf-8")
        changed.append(mf.parse_inputs_hash(env, project))
        path.write_text(original, encoding="utf-8")
    assert mf.parse_inputs_hash(env, project) == base
    assert len({base, *changed}) == len(changed) + 1
