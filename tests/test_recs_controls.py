"""Honesty controls of the recommender's offline evaluation, on copies of the DuckDB warehouse.

Each test copies the session's generated DuckDB warehouse, changes marts.transactions in the
copy, rebuilds only the recommender models there (dbt run) and compares with the original:
  - the backtest equals the production model run on data truncated at the cutoff
    (same scoring logic, no training row on or after the cutoff);
  - changing every purchase on or after the cutoff leaves the backtest unchanged (no leakage);
  - shuffling training purchases' categories across customers destroys the model's advantage.
"""

from __future__ import annotations

import json
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
VALIDATION_SQL = "select * from marts.next_best_category_validation order by method, k"
REBUY_REASON = r"^(Not bought recently|Buy again \(no other new category to suggest\)): "


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


def _rebuild(wh: Warehouse, select: str, cutoff: str | None = None, **dbt_vars: object) -> None:
    args = ["run", "--select", select]
    if cutoff:
        dbt_vars["recs_cutoff_date"] = cutoff
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]  # JSON is YAML
    wh.dbt(args)


def _advantage(wh: Warehouse) -> dict[int, float]:
    """Model hit rate minus the better baseline's, per k."""
    rates = wh.query("select method, k, hit_rate from marts.next_best_category_evaluation")
    rates = rates.set_index(["method", "k"])["hit_rate"]
    return {k: rates[("model", k)] - max(rates[("popularity", k)], rates[("cohort", k)]) for k in (1, 3)}


def production_method(wh: Warehouse) -> str:
    """The one method marts.next_best_category serves."""
    methods = wh.query("select distinct method from marts.next_best_category")["method"].tolist()
    assert len(methods) == 1, methods
    return methods[0]


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
    served = production_method(copy)
    model = backtest[backtest["method"] == served].drop(columns="method").reset_index(drop=True)
    production = production[production["customer_id"].isin(model["customer_id"])].reset_index(drop=True)
    assert len(model) > 1000
    pd.testing.assert_frame_equal(
        model[["customer_id", "rank", "category"]], production[["customer_id", "rank", "category"]]
    )
    np.testing.assert_allclose(model["score"], production["score"], rtol=1e-12)
    # reasons match except the "N days ago" of re-buy rows (as-of time differs by design)
    new = ~model["reason"].str.match(REBUY_REASON)
    assert (model.loc[new, "reason"] == production.loc[new, "reason"]).all()


def test_post_cutoff_data_does_not_change_the_backtest(duckdb_warehouse_generated, tmp_path) -> None:
    original = duckdb_warehouse_generated
    cutoff = _cutoff(original)
    before = original.query(BACKTEST_SQL)
    validation_before = original.query(VALIDATION_SQL)
    served_before = production_method(original)
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
    assert (
        not events_before.sort_values("customer_id")
        .reset_index(drop=True)
        .equals(events_after.sort_values("customer_id").reset_index(drop=True))
    ), "the change should have altered the test events"
    pd.testing.assert_frame_equal(before, after, check_exact=False, rtol=1e-12)
    # the choice of the served method reads nothing from the test window either
    pd.testing.assert_frame_equal(
        validation_before, copy.query(VALIDATION_SQL), check_exact=False, rtol=1e-12
    )
    assert production_method(copy) == served_before


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


def test_excluded_categories_are_never_recommended_or_evaluated(duckdb_warehouse_generated, tmp_path) -> None:
    """var recs_excluded_categories removes a category from every list, event and denominator."""
    original = duckdb_warehouse_generated
    cutoff = _cutoff(original)
    copy = _copy(original, tmp_path)
    # a quote in a name is data, not SQL
    _rebuild(copy, RECS_MODELS, cutoff=cutoff, recs_excluded_categories=["Books", "Kid's; drop table x"])
    for table in ("next_best_category", "next_best_category_backtest", "next_best_category_holdout_events"):
        categories = set(copy.query(f"select distinct category from marts.{table}")["category"])  # noqa: S608
        assert "Books" not in categories and len(categories) == 6, (table, categories)
    recs = copy.query("select customer_id, rank from marts.next_best_category")
    assert recs.groupby("customer_id")["rank"].apply(lambda r: sorted(r) == [1, 2, 3]).all()
    # test events recomputed without Books: first new non-Books category after the cutoff
    tx = copy.query(
        "select customer_id, transaction_id, transaction_at, transaction_date, category"
        " from marts.transactions where category <> 'Books'"
        " order by customer_id, transaction_at, transaction_id"
    )
    train = tx[pd.to_datetime(tx["transaction_date"]) < pd.Timestamp(cutoff)]
    test = tx[pd.to_datetime(tx["transaction_date"]) >= pd.Timestamp(cutoff)]
    seen = set(zip(train["customer_id"], train["category"], strict=True))
    keys = zip(test["customer_id"], test["category"], strict=True)
    new = test[[key not in seen for key in keys]]
    expected = new[new["customer_id"].isin(train["customer_id"])].groupby("customer_id").head(1)
    events = copy.query(
        "select customer_id, transaction_id, new_category_count from marts.next_best_category_holdout_events"
    )
    assert sorted(events["transaction_id"]) == sorted(expected["transaction_id"])
    left = 6 - train.groupby("customer_id")["category"].nunique()
    assert (events["new_category_count"].to_numpy() == left.reindex(events["customer_id"]).to_numpy()).all()
    evaluation = copy.query("select method, k, coverage, hit_count from marts.next_best_category_evaluation")
    backtest = copy.query("select method, customer_id, rank, category from marts.next_best_category_backtest")
    lists = backtest[backtest["customer_id"].isin(events["customer_id"])]
    for row in evaluation[evaluation["method"] != "served"].itertuples():
        covered = lists[(lists["method"] == row.method) & (lists["rank"] <= row.k)]["category"].nunique()
        assert row.coverage == pytest.approx(covered / 6)


@pytest.mark.parametrize("value", ["2024-1-01", "yesterday", "2024-01-01'; drop table x; --"])
def test_bad_cutoff_var_is_a_clear_compile_error(duckdb_warehouse_generated, tmp_path, value) -> None:
    copy = _copy(duckdb_warehouse_generated, tmp_path)
    result = copy.dbt(
        ["compile", "--select", "next_best_category_cutoff", "--vars", f'{{recs_cutoff_date: "{value}"}}'],
        check=False,
    )
    assert result.returncode != 0
    assert "recs_cutoff_date must be YYYY-MM-DD" in result.stdout + result.stderr
