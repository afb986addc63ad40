"""The DuckDB warehouse file may have any name: quotes, spaces, dashes, dots, a leading digit.

dbt-duckdb names the catalog after the file name and pastes that name into its own
metadata SQL, so `team's c360-v2.prod.duckdb` used to fail every `make build` with a parser
error. The profile now attaches the file under the fixed catalog `c360`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from c360 import config
from c360.metrics import mf
from tests.conftest import Warehouse
from tests.test_customers_recompute import compare_customers


def _built(raw: Path, db_path: Path, target_path: Path) -> Warehouse:
    """Load `raw` into a DuckDB file at `db_path` and run `python -m c360.build` (make build) on it."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    env = {"DBT_TARGET": "duckdb", "C360_DUCKDB_PATH": str(db_path), "DBT_TARGET_PATH": str(target_path)}
    warehouse = Warehouse("duckdb", env, target_path, duckdb_path=db_path)
    warehouse.load(raw / "contacts.csv", raw / "transactions.csv")
    build = subprocess.run(
        [sys.executable, "-m", "c360.build"],
        cwd=config.REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=540,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert "build OK" in build.stdout
    return warehouse


@pytest.mark.parametrize("file_name", ["2026 team's c360-v2.prod.duckdb"])
def test_a_warehouse_file_with_any_name_builds_and_answers(
    tmp_path: Path, file_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data_gen.generate.defects import resolve_rates
    from data_gen.generate.generator import generate

    raw = tmp_path / "raw"
    # no second records of one person: the recomputation below keeps one customer per record
    rates = resolve_rates("default", {"same_person_new_id": 0.0})
    generate(customers=120, seed=11, out=raw, days=60, now=datetime.now(UTC), defects=rates)
    folder = tmp_path / "my warehouse; (v2)"
    folder.mkdir()
    db_path = folder / file_name
    named = _built(raw, db_path, tmp_path / "target")

    # The oddly named file holds the marts a build of the same files should give: every column of
    # marts.customers equals the pandas recomputation from the raw files.
    named.raw_dir = raw
    compare_customers(named)
    spend = float(named.query("select sum(amount) as s from marts.transactions")["s"].iloc[0])
    assert spend > 0

    # `make mf` (the CLI, through the dbt profile) answers on the same file.
    for name, value in named.env.items():
        monkeypatch.setenv(name, value)
    out_csv = tmp_path / "spend.csv"
    assert mf.run(["query", "--metrics", "total_spend", "--csv", str(out_csv)]) == 0
    assert float(pd.read_csv(out_csv)["total_spend"].iloc[0]) == pytest.approx(spend, rel=1e-9)
