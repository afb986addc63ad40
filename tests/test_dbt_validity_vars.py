"""Validity rules as dbt vars: zero amounts / zero item counts are quarantined by default (the
exercise's rule) and kept with `allow_zero_amount` / `allow_zero_item_count`; clean rows above
`large_item_count_threshold` are listed in quality.large_item_count_transactions, not dropped.

A baseline build of the exercise sample gives the clean rows; a few of them are then edited in
the raw file (two amounts to 0, two item counts to 0, one item count to 500) and the expected
fact and quarantine are recomputed with pandas from the baseline and the edits.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import Warehouse, duckdb_warehouse, pg_warehouse

SELECT = [
    "build", "--resource-type", "seed", "--resource-type", "model",
    "--select", "+transactions", "+quarantined_transactions", "+large_item_count_transactions",
]  # fmt: skip


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    if request.param == "duckdb":
        return duckdb_warehouse(tmp_path / "wh")
    return pg_warehouse(request.getfixturevalue("fresh_pg_database"), tmp_path / "wh")


def _build(
    warehouse: Warehouse, variables: dict[str, object]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    warehouse.dbt([*SELECT, "--vars", json.dumps(variables)])
    fact = warehouse.query("select transaction_id, amount, item_count from marts.transactions")
    quarantine = warehouse.query("select id, reason from quality.quarantined_transactions")
    large = warehouse.query("select transaction_id, item_count from quality.large_item_count_transactions")
    fact["amount"] = fact["amount"].astype(float)
    fact["item_count"] = fact["item_count"].astype(int)
    return (
        fact.sort_values("transaction_id").reset_index(drop=True),
        quarantine.sort_values(["id", "reason"]).reset_index(drop=True),
        large,
    )


def test_validity_vars(warehouse: Warehouse, sample_dir: Path, tmp_path: Path) -> None:
    warehouse.load(sample_dir / "contacts.csv", sample_dir / "transactions.csv")
    baseline, baseline_quarantine, _ = _build(warehouse, {})
    clean_ids = sorted(baseline["transaction_id"])
    zero_amount, zero_items, large_id = clean_ids[0:2], clean_ids[2:4], clean_ids[4]

    raw = pd.read_csv(sample_dir / "transactions.csv", dtype=str, keep_default_na=False)
    assert raw["id"].isin([*zero_amount, *zero_items, large_id]).sum() == 5
    raw.loc[raw["id"].isin(zero_amount), "amount"] = "0.00"
    raw.loc[raw["id"].isin(zero_items), "item_count"] = "0"
    raw.loc[raw["id"] == large_id, "item_count"] = "500"
    edited = tmp_path / "edited"
    edited.mkdir()
    raw.to_csv(edited / "transactions.csv", index=False)
    warehouse.load(sample_dir / "contacts.csv", edited / "transactions.csv")

    # pandas: the baseline fact with the edits applied.
    expected = baseline.set_index("transaction_id")
    expected.loc[zero_amount, "amount"] = 0.0
    expected.loc[zero_items, "item_count"] = 0
    expected.loc[large_id, "item_count"] = 500
    expected = expected.reset_index()

    # Default: the exercise's rule, zero lines quarantined with their reason codes.
    fact, quarantine, large = _build(warehouse, {})
    dropped = expected[~expected["transaction_id"].isin([*zero_amount, *zero_items])].reset_index(drop=True)
    pd.testing.assert_frame_equal(fact, dropped, check_dtype=False)
    added = pd.DataFrame(
        {
            "id": [*zero_amount, *zero_items],
            "reason": ["non_positive_amount"] * 2 + ["non_positive_item_count"] * 2,
        }
    )
    expected_quarantine = (
        pd.concat([baseline_quarantine, added]).sort_values(["id", "reason"]).reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(quarantine, expected_quarantine)
    assert large["transaction_id"].tolist() == [large_id] and large["item_count"].tolist() == [500]

    # Both switches on: every line is clean, the quarantine is the baseline's.
    fact, quarantine, large = _build(warehouse, {"allow_zero_amount": True, "allow_zero_item_count": True})
    pd.testing.assert_frame_equal(fact, expected, check_dtype=False)
    pd.testing.assert_frame_equal(quarantine, baseline_quarantine)
    assert large["transaction_id"].tolist() == [large_id]

    # Only one switch; and a threshold above the largest quantity flags nothing.
    fact, quarantine, large = _build(
        warehouse, {"allow_zero_amount": True, "large_item_count_threshold": 1000}
    )
    assert sorted(fact["transaction_id"]) == sorted(set(clean_ids) - set(zero_items))
    assert sorted(quarantine.loc[quarantine["reason"] == "non_positive_item_count", "id"]) == sorted(
        zero_items
    )
    assert large.empty
