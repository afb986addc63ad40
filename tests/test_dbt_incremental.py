"""marts.transactions: an incremental run after appending raw rows equals a full refresh."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from tests.conftest import duckdb_warehouse

COLUMNS = ", ".join(
    ["transaction_id", "customer_id", "transaction_at", "transaction_date"]
    + ["amount", "item_count", "category", "category_slug"]
)


def test_incremental_run_equals_full_refresh(tmp_path: Path) -> None:
    from data_gen.generate.generator import generate

    full = tmp_path / "full"
    generate(customers=300, seed=11, out=full, days=120, now=datetime(2025, 3, 1, 12, tzinfo=UTC))
    transactions = pd.read_csv(full / "transactions.csv", dtype=str, keep_default_na=False)
    first = tmp_path / "first"
    first.mkdir()
    (first / "contacts.csv").write_bytes((full / "contacts.csv").read_bytes())
    cut = int(len(transactions) * 0.8)
    transactions.iloc[:cut].to_csv(first / "transactions.csv", index=False)

    warehouse = duckdb_warehouse(tmp_path / "wh")
    warehouse.load(first / "contacts.csv", first / "transactions.csv")
    # Seeds and models upstream of transactions in one invocation (no data tests: not under test here).
    warehouse.dbt(
        ["build", "--select", "+transactions", "--resource-type", "seed", "--resource-type", "model"]
    )
    before = int(warehouse.query("select count(*) as n from marts.transactions")["n"][0])

    # Append the remaining 20 % (same file name, so source rows keep their numbers) and run incrementally.
    warehouse.load(full / "contacts.csv", full / "transactions.csv")
    warehouse.dbt(["run", "--select", "+transactions"])
    model = Path("c360") / "models" / "marts" / "transactions.sql"
    assert "published.transaction_id" in (warehouse.target_path / "compiled" / model).read_text(), (
        "must run incrementally"
    )
    assert "merge into" in (warehouse.target_path / "run" / model).read_text().lower()
    incremental = warehouse.query(f"select {COLUMNS} from marts.transactions order by transaction_id")

    warehouse.dbt(["run", "--select", "transactions", "--full-refresh"])
    refreshed = warehouse.query(f"select {COLUMNS} from marts.transactions order by transaction_id")

    assert len(incremental) > before
    pd.testing.assert_frame_equal(incremental, refreshed)
