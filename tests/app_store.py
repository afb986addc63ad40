"""Store the app tests' contract-shaped tables and dbt artifacts (no tests here).

`write_duckdb()` / `write_postgres()` store the frames of `test_app_support.demo_frames()`;
`write_artifacts()` writes `run_results.json`, `sources.json` and `manifest.json` with known
statuses; `free_port()` and `served_app()` are for the browser tests' server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import psycopg2
import psycopg2.extras
import pytest
import workers
from playwright.sync_api import Browser, sync_playwright

from c360 import config


def write_duckdb(path: Path, frames: dict[str, pd.DataFrame]) -> None:
    """Create every table in a new DuckDB file."""
    with duckdb.connect(str(path)) as con:
        for name, frame in frames.items():
            schema = name.split(".")[0]
            con.execute(f"create schema if not exists {schema}")
            con.register("frame", _for_sql(frame))
            con.execute(f"create or replace table {name} as select * from frame")
            con.unregister("frame")


def _for_sql(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if column.endswith("_date") or column in ("acquisition_month",):
            out[column] = pd.to_datetime(out[column]).dt.date
    return out


def _pg_type(frame: pd.DataFrame, column: str) -> str:
    if column.endswith("_date") or column == "acquisition_month":
        return "date"
    dtype = frame[column].dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return (
            "numeric(14, 2)"
            if column in ("amount", "total_spend") or column.endswith("_amount")
            else "double precision"
        )
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    return "text"


def write_postgres(dsn: str, frames: dict[str, pd.DataFrame]) -> None:
    """Create every table in the (empty) Postgres database behind `dsn`."""
    with psycopg2.connect(dsn) as con, con.cursor() as cur:
        for name, frame in frames.items():
            cur.execute(f"create schema if not exists {name.split('.')[0]}")
            columns = ", ".join(f'"{c}" {_pg_type(frame, c)}' for c in frame.columns)
            cur.execute(f"create table {name} ({columns})")
            data = _for_sql(frame).astype(object).where(_for_sql(frame).notna(), None)
            rows = [
                tuple(v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in r)
                for r in data.itertuples(index=False)
            ]
            if rows:
                psycopg2.extras.execute_values(cur, f"insert into {name} values %s", rows)


def write_artifacts(target_dir: Path) -> dict[str, int]:
    """run_results.json / sources.json / manifest.json with known statuses; returns the status counts."""
    target_dir.mkdir(parents=True, exist_ok=True)
    results = [  # unique_id, status, failures, relation_name, tested model
        ("model.c360.customers", "success", None, None, ""),
        ("model.c360.transactions", "success", None, None, ""),
        ("test.c360.unique_customers_customer_id.1a", "pass", 0, None, "customers"),
        ("test.c360.not_null_transactions_amount.2b", "pass", 0, None, "transactions"),
        (
            "test.c360.accepted_values_customers_gender.3c",
            "warn",
            7,
            '"c360"."quality"."accepted_values_customers_gender"',
            "customers",
        ),
        ("test.c360.relationships_transactions_customer_id.4d", "fail", 2, None, "transactions"),
    ]
    run_results = {
        "metadata": {"generated_at": "2024-07-01T01:05:00Z"},
        "results": [
            {
                "unique_id": u,
                "status": s,
                "failures": f,
                "relation_name": r,
                "execution_time": 0.1,
                "message": None,
            }
            for u, s, f, r, _ in results
        ],
    }
    manifest = {"nodes": {u: {"attached_node": f"model.c360.{m}"} for u, *_, m in results if m}}
    sources = {
        "metadata": {"generated_at": "2024-07-01T01:00:00Z"},
        "results": [
            {
                "unique_id": "source.c360.web.transactions",
                "status": "pass",
                "max_loaded_at": "2024-07-01T00:55:00",
                "snapshotted_at": "2024-07-01T01:00:00",
                "max_loaded_at_time_ago_in_s": 300.0,
                "criteria": {
                    "warn_after": {"count": 24, "period": "hour"},
                    "error_after": {"count": 48, "period": "hour"},
                },
            },
            {
                "unique_id": "source.c360.salesforce.contacts",
                "status": "warn",
                "max_loaded_at": "2024-06-29T00:00:00",
                "snapshotted_at": "2024-07-01T01:00:00",
                "max_loaded_at_time_ago_in_s": 176400.0,
                "criteria": {
                    "warn_after": {"count": 24, "period": "hour"},
                    "error_after": {"count": 72, "period": "hour"},
                },
            },
        ],
    }
    (target_dir / "run_results.json").write_text(json.dumps(run_results))
    (target_dir / "manifest.json").write_text(json.dumps(manifest))
    (target_dir / "sources.json").write_text(json.dumps(sources))
    counts: dict[str, int] = {}
    for _, status, *_ in results:
        counts[status] = counts.get(status, 0) + 1
    return counts


def free_port() -> int:
    """A TCP port nobody listens on right now (an xdist worker's from its own range: tests/workers.py)."""
    return workers.free_port()


@contextmanager
def served_app(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`streamlit run app.py` with `env` on a free port until healthy; yields its URL, stops it after."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
        "--server.port", str(port), "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
    ]
    with log_path.open("w") as log:
        proc = subprocess.Popen(command, cwd=config.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _healthy(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start; see {log_path}")
                time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


CHROMIUM = Path("/usr/bin/chromium")
# The flags this machine needs (no sandbox as root; no background connections, which the closed
# network would refuse).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def system_chromium() -> Iterator[Browser]:
    """Headless system Chromium for a pytest fixture (never `playwright install`); fails under
    CI=true and skips elsewhere when it is missing."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
