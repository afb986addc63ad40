"""`make share` keeps the salt secret: no file it leaves behind holds the salt, and its outputs are private.

Runs the real `make share` (DuckDB on a copy of the sample warehouse, Postgres on the session's
generated warehouse) with a fresh random salt, then reads every file (text and binary) under
dbt_c360/target*, dbt_c360/logs, data/, the run's dbt target directory and the delivery, and the
temporary directory the salt file lived in. The partner keys are recomputed with hashlib, so the
run really used the salt it never wrote down.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from c360 import config

MAX_SCANNED_BYTES = 512 * 1024 * 1024


@dataclass
class ShareRun:
    """One `make share` run: its salt, environment, output and dbt target directories, warehouse."""

    salt: str
    env: dict[str, str]
    out_dir: Path
    target_path: Path
    warehouse: Any
    output: str


def make_share(warehouse: Any, env: dict[str, str], directory: Path) -> ShareRun:
    """`make share SHARE_OUT=directory/out` with a new random salt in C360_SHARE_SALT."""
    salt = f"secrecy_{secrets.token_hex(16)}"
    out_dir, target_path = directory / "out", directory / "target"
    run_env = {**os.environ, **env, "DBT_TARGET_PATH": str(target_path), "C360_SHARE_SALT": salt}
    result = subprocess.run(
        ["make", "share", f"SHARE_OUT={out_dir}", "K_ANONYMITY=5"],
        cwd=config.REPO_ROOT, env=run_env, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return ShareRun(salt, run_env, out_dir, target_path, warehouse, result.stdout + result.stderr)


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def share_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShareRun]:
    """`make share` on DuckDB (a copy of the sample warehouse) or Postgres (the generated one)."""
    tmp_path = tmp_path_factory.mktemp(f"share_secrecy_{request.param}")
    if request.param == "duckdb":
        source = request.getfixturevalue("duckdb_warehouse_sample")
        copy = tmp_path / "c360.duckdb"
        shutil.copy(source.duckdb_path, copy)
        from conftest import Warehouse

        warehouse = Warehouse("duckdb", {**source.env, "C360_DUCKDB_PATH": str(copy)}, tmp_path / "target",
                              duckdb_path=copy)
    else:
        warehouse = request.getfixturevalue("pg_warehouse_generated")
    yield make_share(warehouse, warehouse.env, tmp_path)


def scanned_roots(run: ShareRun) -> list[Path]:
    """Every place the share step (dbt included) may have written to."""
    project = config.DBT_PROJECT_DIR
    roots = [*project.glob("target*"), project / "logs", config.REPO_ROOT / "data"]
    roots += [run.out_dir, run.target_path]  # the salt file lived in target_path/share_build/secret
    return [root for root in roots if root.exists()]


def files_holding(secret: str, roots: list[Path]) -> tuple[list[str], int]:
    """Files under `roots` whose bytes contain `secret`, and how many files were read."""
    needle, hits, scanned = secret.encode(), [], 0
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_SCANNED_BYTES:
                continue
            scanned += 1
            if needle in path.read_bytes():
                hits.append(str(path))
    return hits, scanned


def test_no_file_holds_the_salt(share_run: ShareRun) -> None:
    hits, scanned = files_holding(share_run.salt, scanned_roots(share_run))
    assert hits == []
    assert scanned > 10  # the scan read the artifacts, logs and delivery
    assert (share_run.target_path / "share_build" / "manifest.json").is_file()
    assert (share_run.target_path / "share_build" / "logs" / "dbt.log").is_file()
    assert not (share_run.target_path / "share_build" / "secret").exists()  # the salt file is gone
    assert share_run.salt not in share_run.output


def test_the_keys_use_the_salt_nobody_wrote_down(share_run: ShareRun) -> None:
    customers = share_run.warehouse.query("select customer_id from marts.customers")
    expected = {
        hashlib.sha256((share_run.salt + cid).encode("utf-8")).hexdigest() for cid in customers["customer_id"]
    }
    delivered = set(pd.read_csv(share_run.out_dir / "partner_customers.csv")["partner_key"])
    assert delivered and delivered <= expected


def _private(path: Path, root: Path) -> bool:
    """0600-or-stricter itself, or inside a directory (up to `root`) that only its owner can enter."""
    if stat.S_IMODE(path.stat().st_mode) & 0o077 == 0:
        return True
    for parent in path.parents:
        if stat.S_IMODE(parent.stat().st_mode) & 0o077 == 0:
            return True
        if parent == root:
            return False
    return False


def test_every_file_the_share_step_writes_is_private(share_run: ShareRun) -> None:
    delivery = sorted(p for p in share_run.out_dir.rglob("*") if p.is_file())
    assert {"manifest.json", "partner_customers.csv"} <= {p.name for p in delivery}
    assert stat.S_IMODE(share_run.out_dir.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in delivery)
    build_dir = share_run.target_path / "share_build"
    assert stat.S_IMODE(build_dir.stat().st_mode) == 0o700
    written = [p for p in build_dir.rglob("*") if p.is_file()]
    assert written and all(_private(p, share_run.target_path) for p in written)
