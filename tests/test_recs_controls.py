"""Honesty controls of the recommender's offline evaluation, on copies of the DuckDB warehouse.

Each test copies the session's generated DuckDB warehouse, changes marts.transactions in the
copy, rebuilds only the recommender models there (dbt run) and compares with the original:
  - the backtest equals the production model run on data truncated at the cutoff
    (same scoring logic, no training row on or after the cutoff);
  - changing every purchase on or after the cutoff leaves the backtest unchanged (no leakage);
  - shuffling training purchases' categories across customers destroys the model's advantage.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import Warehouse, duckdb_warehouse

RECS_MODELS = "path:models/marts/recommendations"
BACKTEST_SQL = (
    "select method, customer_id, rank, category, score, reason from marts.next_best_category_backtest"
    " order by method, customer_id, rank"
)


def _copy(source: Warehouse, directory: Path) -> Warehouse:
    assert source.duckdb_path is not None
    copy = duckdb_warehouse(directory)
    shutil.copyfile(source.duckdb_path, copy.duckdb_path)
    return copy


def _execute(wh: Warehouse, sql: str, frame: pd.DataFrame | None = None) -> None:
    con = duckdb.connect(str(wh.duckdb_path))
    try:
        if frame is not None:
            con.register("frame", frame)
        con.execute(sql)
    finally:
        con.close()


def _cutoff(wh: Warehouse) -> str:
    value = wh.query("select cutoff_date from marts.next_best_category_cutoff").iloc[0, 0]
    return str(pd.Timestamp(value).date())


def _rebuild(wh: Warehouse, select: str, cutoff: str | None = None) -> None:
    args = ["run", "--select", select]
    if cutoff:
        args += ["--vars", f"{{recs_cutoff_date: '{cutoff}'}}"]
    wh.dbt(args)


def _advantage(wh: Warehouse) -> dict[int, float]:
    """Model hit rate minus the better baseline's, per k."""
    rates = wh.query("select method, k, hit_rate from marts.next_best_category_evaluation")
    rates = rates.set_index(["method", "k"])["hit_rate"]
    return {k: rates[("model", k)] - max(rates[("popularity", k)], rates[("cohort", k)]) for k in (1, 3)}


def test_backtest_is_the_production_model_on_training_data(duckdb_warehouse_generated, tmp_path) -> None:
    original = duckdb_warehouse_generated
    cutoff = _cutoff(original)
    backtest = original.query(BACKTEST_SQL)
    copy = _copy(original, tmp_path)
    _execute(copy, f"delete from marts.transactions where transaction_date >= date '{cutoff}'")
    _rebuild(copy, "next_best_category")
    production = copy.query(
        "select customer_id, rank, category, score, reason from marts.next_best_category"
        " order by customer_id, rank"
    )
    model = backtest[backtest["method"] == "model"].drop(columns="method").reset_index(drop=True)
    production = production[production["customer_id"].isin(model["customer_id"])].reset_index(drop=True)
    assert len(model) > 1000
    pd.testing.assert_frame_equal(
        model[["customer_id", "rank", "category"]], production[["customer_id", "rank", "category"]]
    )
    np.testing.assert_allclose(model["score"], production["score"], rtol=1e-12)
    # reasons match except the "N days ago" of not-recently rows (as-of time differs by design)
    new = ~model["reason"].str.startswith("Not bought recently")
    assert (model.loc[new, "reason"] == production.loc[new, "reason"]).all()


def test_post_cutoff_data_does_not_change_the_backtest(duckdb_warehouse_generated, tmp_path) -> None:
    original = duckdb_warehouse_generated
    cutoff = _cutoff(original)
    before = original.query(BACKTEST_SQL)
    events_before = original.query(
        "select customer_id, category from marts.next_best_category_holdout_events"
    )
    copy = _copy(original, tmp_path)
    # every purchase on or after the cutoff moves to another category and 1-5 days later
    _execute(
        copy,
        f"""
        update marts.transactions
        set category = case category
                when 'Apps & Games' then 'Kitchen' when 'Kitchen' then 'Books' when 'Books' then 'Beauty'
                when 'Beauty' then 'Movies & TV' when 'Movies & TV' then 'Sports, Fitness & Outdoors'
                when 'Sports, Fitness & Outdoors' then 'Clothing, Shoes & Accessories'
                else 'Apps & Games' end,
            transaction_at = transaction_at + interval 3 day,
            transaction_date = cast(transaction_at + interval 3 day as date)
        where transaction_date >= date '{cutoff}'
        """,
    )
    _rebuild(copy, RECS_MODELS, cutoff=cutoff)
    after = copy.query(BACKTEST_SQL)
    events_after = copy.query("select customer_id, category from marts.next_best_category_holdout_events")
    assert not events_before.sort_values("customer_id").reset_index(drop=True).equals(
        events_after.sort_values("customer_id").reset_index(drop=True)
    ), "the change should have altered the test events"
    pd.testing.assert_frame_equal(before, after, check_exact=False, rtol=1e-12)


def test_shuffling_training_categories_destroys_the_advantage(duckdb_warehouse_generated, tmp_path) -> None:
    original = duckdb_warehouse_generated
    cutoff = _cutoff(original)
    baseline_advantage = _advantage(original)
    assert baseline_advantage[1] > 0.08, baseline_advantage
    copy = _copy(original, tmp_path)
    training = copy.query(
        f"select transaction_id, category from marts.transactions where transaction_date < date '{cutoff}'"
    )
    rng = np.random.default_rng(20240607)
    training["category"] = rng.permutation(training["category"].to_numpy())
    _execute(
        copy,
        "update marts.transactions as t set category = frame.category"
        " from frame where frame.transaction_id = t.transaction_id",
        frame=training,
    )
    _rebuild(copy, RECS_MODELS, cutoff=cutoff)
    shuffled = _advantage(copy)
    assert shuffled[1] < baseline_advantage[1] / 3, (baseline_advantage, shuffled)
    assert shuffled[3] < max(baseline_advantage[3] / 2, 0.01), (baseline_advantage, shuffled)


@pytest.mark.parametrize("value", ["2024-1-01", "yesterday", "2024-01-01'; drop table x; --"])
def test_bad_cutoff_var_is_a_clear_compile_error(duckdb_warehouse_generated, tmp_path, value) -> None:
    copy = _copy(duckdb_warehouse_generated, tmp_path)
    result = copy.dbt(["compile", "--select", "next_best_category_cutoff", "--vars",
                       f"{{recs_cutoff_date: \"{value}\"}}"], check=False)
    assert result.returncode != 0
    assert "recs_cutoff_date must be YYYY-MM-DD" in result.stdout + result.stderr
