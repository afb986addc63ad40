"""`python -m c360.build` (make build): freshness gate before models, artifacts kept, summary line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from c360 import config
from tests.conftest import Warehouse, duckdb_warehouse


def _run_build(warehouse: Warehouse) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **warehouse.env}
    return subprocess.run(
        [sys.executable, "-m", "c360.build"],
        cwd=config.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=540,
    )


def _tables(warehouse: Warehouse) -> set[str]:
    frame = warehouse.query("select table_schema || '.' || table_name as name from information_schema.tables")
    return set(frame["name"])


def test_stale_source_fails_before_models_are_published(tmp_path: Path, sample_dir: Path) -> None:
    warehouse = duckdb_warehouse(tmp_path)
    warehouse.load(sample_dir / "contacts.csv", sample_dir / "transactions.csv")  # loaded in 2023: stale
    result = _run_build(warehouse)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "stale" in result.stderr
    sources = json.loads((warehouse.target_path / "sources.json").read_text())["results"]
    assert {r["unique_id"]: r["status"] for r in sources} == {
        "source.c360.salesforce.contacts": "error",
        "source.c360.web.transactions": "error",
    }
    assert (
        not (warehouse.target_path / "run_results.json").exists()
        or "build" not in (warehouse.target_path / "run_results.json").read_text()
    )
    assert "marts.customers" not in _tables(warehouse)


def test_fresh_data_builds_and_keeps_both_artifacts(tmp_path: Path) -> None:
    from data_gen.generate.generator import generate

    raw = tmp_path / "raw"
    generate(customers=150, seed=3, out=raw, days=90, now=datetime.now(UTC))
    warehouse = duckdb_warehouse(tmp_path)
    warehouse.load(raw / "contacts.csv", raw / "transactions.csv")
    result = _run_build(warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("[3/3] build OK on duckdb")
    # the recommender step ran on the candidate and said in one line why it learned nothing
    assert "recs model: skipped, too little data" in result.stdout, result.stdout
    sources = json.loads((warehouse.target_path / "sources.json").read_text())["results"]
    assert {r["status"] for r in sources} == {"pass"}
    run_results = json.loads((warehouse.target_path / "run_results.json").read_text())
    assert run_results["args"]["which"] == "build"
    assert "marts.customers" in _tables(warehouse)
    customers = int(warehouse.query("select count(*) as n from marts.customers")["n"][0])
    # 150 people; each second registration (same_person_new_id) is its own customer unless the
    # build's identity step put both ids in one person
    pairs = json.loads((raw / "manifest.json").read_text())["defects"]["contacts"]["same_person_new_id"][
        "pairs"
    ]
    person = dict(warehouse.query("select contact_id, person_id from identity.contact_clusters").to_numpy())
    unmerged = sum(person[a] != person[b] for a, b in pairs)
    assert customers == 150 + unmerged
