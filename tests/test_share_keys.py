"""Partner keys: stable for one salt, unlinkable across salts, equal across engines; the CLI.

Keys are recomputed with hashlib from marts.customers; the salt file is a temp file, never the
repo's `.c360_share_salt`. Builds run on copies (DuckDB) or the session's own Postgres database.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from share_delivery import RELEASED, partner_key

from c360 import config
from c360.dbt_runner import run_dbt
from c360.share.cli import run_share

SALT_A = "keys_salt_A_0123456789abcdef"
SALT_B = "keys_salt_B_fedcba9876543210"
QUASI_IDENTIFIERS = RELEASED  # the whole released record of partner_customers but partner_key


def duckdb_copy(warehouse: Any, directory: Path) -> dict[str, str]:
    """The env of a private copy of a built DuckDB warehouse."""
    db_path = directory / "c360.duckdb"
    shutil.copy(warehouse.duckdb_path, db_path)
    return {**warehouse.env, "C360_DUCKDB_PATH": str(db_path), "DBT_TARGET_PATH": str(directory / "target")}


def query(env: dict[str, str], sql: str) -> pd.DataFrame:
    """One read-only query on the warehouse of `env` (DuckDB file or Postgres database)."""
    if env["DBT_TARGET"] == "duckdb":
        con = duckdb.connect(env["C360_DUCKDB_PATH"], read_only=True)
        try:
            return con.execute(sql).df()
        finally:
            con.close()
    import psycopg2

    settings = config.PgSettings(env["C360_PG_HOST"], int(env["C360_PG_PORT"]), env["C360_PG_USER"],
                                 env["C360_PG_PASSWORD"], env["C360_PG_DB"])
    with psycopg2.connect(settings.dsn()) as con, con.cursor() as cur:
        cur.execute(sql)
        frame = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
    con.close()
    return frame


def delivered_keys(env: dict[str, str], directory: Path, salt: str) -> set[str]:
    """Build + export with `salt`; return the partner keys of the exported partner_customers.csv."""
    run_share(directory, k=5, salt_file=directory / "unused", env={**env, "C360_SHARE_SALT": salt})
    return set(pd.read_csv(directory / "partner_customers.csv")["partner_key"])


@pytest.fixture(scope="module")
def key_cache() -> dict[str, dict[str, Any]]:
    """Keys per generated warehouse, built once per module (several tests compare them)."""
    return {}


def generated_keys(request: pytest.FixtureRequest, cache: dict[str, dict[str, Any]], fixture: str,
                   tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Keys delivered with SALT_A then SALT_B from one generated warehouse, and its customer ids."""
    if fixture not in cache:
        warehouse = request.getfixturevalue(fixture)
        directory = tmp_path_factory.mktemp(f"keys_{fixture}")
        if warehouse.target == "duckdb":
            env = duckdb_copy(warehouse, directory)
        else:
            env = {**warehouse.env, "DBT_TARGET_PATH": str(directory / "target")}
        keys_a = delivered_keys(env, directory / "a", SALT_A)
        keys_b = delivered_keys(env, directory / "b", SALT_B)
        customer_ids = list(query(env, "select customer_id from marts.customers")["customer_id"])
        cache[fixture] = {"a": keys_a, "b": keys_b, "customer_ids": customer_ids}
    return cache[fixture]


GENERATED_WAREHOUSES = [
    "duckdb_warehouse_generated",
    pytest.param("pg_warehouse_generated", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize("fixture", GENERATED_WAREHOUSES)
def test_other_salt_gives_unlinkable_keys_each_recomputable(
    request: pytest.FixtureRequest, key_cache: dict[str, dict[str, Any]], fixture: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    keys = generated_keys(request, key_cache, fixture, tmp_path_factory)
    ids, keys_a, keys_b = keys["customer_ids"], keys["a"], keys["b"]
    assert len(keys_a) == len(keys_b) > 1000  # the same customers are delivered whatever the salt
    assert keys_a.isdisjoint(keys_b)
    assert keys_a <= {partner_key(SALT_A, cid) for cid in ids}
    assert keys_b <= {partner_key(SALT_B, cid) for cid in ids}
    by_a = {partner_key(SALT_A, cid): cid for cid in ids}
    assert {partner_key(SALT_B, by_a[key]) for key in keys_a} == keys_b


@pytest.mark.postgres
def test_same_salt_gives_the_same_keys_on_duckdb_and_postgres(
    request: pytest.FixtureRequest, key_cache: dict[str, dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    duck = generated_keys(request, key_cache, "duckdb_warehouse_generated", tmp_path_factory)
    pg = generated_keys(request, key_cache, "pg_warehouse_generated", tmp_path_factory)
    assert duck["a"] == pg["a"] and duck["b"] == pg["b"]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m c360.share.cli ...` as `make share` runs it, with an isolated environment."""
    clean = {key: value for key, value in os.environ.items() if key != "C360_SHARE_SALT"}
    return subprocess.run([sys.executable, "-m", "c360.share.cli", *args], env={**clean, **env},
                          cwd=config.REPO_ROOT, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def cli_runs(duckdb_warehouse_sample: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two CLI runs on a copy of the sample warehouse without C360_SHARE_SALT: salt generated, then reused."""
    directory = tmp_path_factory.mktemp("share_cli")
    env = duckdb_copy(duckdb_warehouse_sample, directory)
    salt_file = directory / "salt"
    first = run_cli(env, "--out", str(directory / "first"), "--salt-file", str(salt_file))
    salt = salt_file.read_text().strip() if salt_file.exists() else ""
    second = run_cli(env, "--out", str(directory / "second"), "--salt-file", str(salt_file))
    return {"env": env, "dir": directory, "first": first, "second": second, "salt": salt}


def test_cli_generates_the_salt_once_and_reuses_it(cli_runs: dict[str, Any]) -> None:
    first, second, salt = cli_runs["first"], cli_runs["second"], cli_runs["salt"]
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert len(salt) == 64
    fingerprint = hashlib.sha256(salt.encode()).hexdigest()[:12]
    manifests = [json.loads((cli_runs["dir"] / run / "manifest.json").read_text())
                 for run in ("first", "second")]
    assert [m["salt"]["source"] for m in manifests] == ["generated", "file"]
    assert {m["salt"]["fingerprint"] for m in manifests} == {fingerprint}
    assert "partner_customers=11" in first.stdout and fingerprint in first.stdout
    for run in (first, second):
        assert salt not in run.stdout + run.stderr


def test_same_salt_gives_byte_identical_files(cli_runs: dict[str, Any]) -> None:
    for name in ("partner_customers.csv", "partner_customers.parquet", "partner_segment_summary.csv"):
        first = (cli_runs["dir"] / "first" / name).read_bytes()
        assert first == (cli_runs["dir"] / "second" / name).read_bytes(), name
    customers = query(cli_runs["env"], "select customer_id from marts.customers")
    expected = {partner_key(cli_runs["salt"], cid) for cid in customers["customer_id"]}
    assert set(pd.read_csv(cli_runs["dir"] / "first" / "partner_customers.csv")["partner_key"]) == expected


def test_k_anonymity_test_fails_when_classes_are_smaller_than_k(cli_runs: dict[str, Any]) -> None:
    # The sample's 11 customers were published with k=5 (5 women, 6 men, the rest mostly '*').
    # Testing the same table with k=7 must fail with exactly the classes pandas finds below 7.
    vars_ = json.dumps({"share_build": True, "k_anonymity": 7})  # tests read tables, not the salt
    result = run_dbt(["test", "--select", "partner_customers,test_name:share_k_anonymity", "--vars", vars_],
                     env=cli_runs["env"], check=False)
    assert result.returncode != 0
    share = query(cli_runs["env"], "select * from share.partner_customers")
    sizes = share.groupby(QUASI_IDENTIFIERS).size()
    expected = sorted((*index, size) for index, size in sizes[sizes < 7].items())
    assert expected  # the sample really has classes below 7
    failures = query(cli_runs["env"], "select * from quality.share_k_anonymity_partner_customers_")
    got = sorted(failures[[*QUASI_IDENTIFIERS, "class_size"]].itertuples(index=False, name=None))
    assert got == expected


def test_cli_rejects_an_unsafe_salt_without_traceback(cli_runs: dict[str, Any]) -> None:
    env = {**cli_runs["env"], "C360_SHARE_SALT": "bad'salt"}
    result = run_cli(env, "--out", str(cli_runs["dir"] / "bad"))
    assert result.returncode == 1
    assert "C360_SHARE_SALT" in result.stderr and "Traceback" not in result.stderr
    assert not (cli_runs["dir"] / "bad").exists()
