"""`python -m c360.metrics.mf` (make mf): dbt parse for the target, then the real `mf` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
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


def _run_mf(warehouse: Warehouse, target_path: Path, args: list[str], skip_parse: bool = False) -> str:
    env = {**os.environ, **warehouse.env, "DBT_TARGET_PATH": str(target_path)}
    if skip_parse:
        env["C360_MF_SKIP_PARSE"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "c360.metrics.mf", *args],
        cwd=config.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_mf_query_through_the_wrapper(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    warehouse: Warehouse = request.getfixturevalue(
        f"{'duckdb' if engine == 'duckdb' else 'pg'}_warehouse_generated"
    )
    # A fresh DBT_TARGET_PATH: the wrapper must parse into it and make mf read it (not dbt_c360/target).
    target_path = tmp_path / "target"
    out_csv = tmp_path / "out.csv"
    args = ["query", "--metrics", "total_spend", "--group-by", "metric_time__month,transaction__category"]
    _run_mf(warehouse, target_path, [*args, "--csv", str(out_csv)])
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
    listing = _run_mf(warehouse, target_path, ["list", "metrics"], skip_parse=True)
    assert "books_spend_share" in listing and "cohort_lifetime_repeat_rate" in listing
    validation = _run_mf(warehouse, target_path, ["validate-configs"], skip_parse=True)
    assert "ERRORS: 0" in validation and "Successfully validated metrics against data warehouse" in validation

    # Every named metric through `mf query` gives what the Python client gives (the client's
    # values are checked against pandas in test_metrics_values.py).
    all_csv = tmp_path / "all.csv"
    _run_mf(
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
