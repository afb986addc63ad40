"""The learned recommender (LightGBM lambdarank, c360.recs.model) and its honesty controls.

On the session's generated DuckDB warehouse (or a copy of it):
  - written back and rebuilt, `lightgbm` is a candidate method: its backtest lists are its test
    scores ranked (recomputed in pandas) and its evaluation hit rate is recomputed from them;
  - no peeking: changing every purchase on or after the cutoff leaves the validation and test
    scores (and so the choice of the served method) unchanged;
  - shuffle control: trained on labels moved to a random candidate, it loses its lift.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import numpy as np
import pandas as pd
from conftest import Warehouse, duckdb_warehouse

from c360.recs import model as recs_model
from c360.warehouse import Warehouse as AppWarehouse


def _app_warehouse(wh: Warehouse) -> AppWarehouse:
    return AppWarehouse("duckdb", duckdb_path=wh.duckdb_path)


def _hit_rates(scores: pd.DataFrame, events: pd.DataFrame) -> dict[int, float]:
    """Share of event customers whose event is in the top k of `scores` (k = 1, 3)."""
    ranked = scores.sort_values(["customer_id", "score", "category"], ascending=[True, False, True])
    ranked = ranked.assign(rank=ranked.groupby("customer_id").cumcount() + 1)
    merged = events.merge(ranked, on=["customer_id", "category"], how="left")
    return {k: float((merged["rank"] <= k).mean()) for k in (1, 3)}


def _baseline_rates(wh: Warehouse) -> dict[int, float]:
    rates = wh.query("select method, k, hit_rate from marts.next_best_category_evaluation")
    rates = rates[rates["method"].isin(["popularity", "cohort"])]
    return rates.groupby("k")["hit_rate"].max().to_dict()


def test_lightgbm_is_a_candidate_scored_by_the_dbt_macros(duckdb_warehouse_generated, tmp_path) -> None:
    copy = duckdb_warehouse(tmp_path)
    shutil.copyfile(duckdb_warehouse_generated.duckdb_path, copy.duckdb_path)
    recs_model.refresh(_app_warehouse(copy), env={"C360_DUCKDB_PATH": str(copy.duckdb_path)})
    scores = copy.query("select * from recs_model.lightgbm_scores where scope = 'test'")
    cutoff = copy.query("select cutoff_date from marts.next_best_category_cutoff").iloc[0, 0]
    assert (pd.to_datetime(scores["train_end_date"]) == pd.Timestamp(cutoff)).all()
    backtest = copy.query(
        "select customer_id, rank, category, score from marts.next_best_category_backtest"
        " where method = 'lightgbm' and is_new_category order by customer_id, rank"
    )
    assert len(backtest) > 1000
    # each new-category pick is the customer's next-best remaining test score
    merged = backtest.merge(scores, on=["customer_id", "category"], suffixes=("", "_table"))
    assert len(merged) == len(backtest)
    np.testing.assert_allclose(merged["score"], merged["score_table"])
    top = scores.sort_values(["customer_id", "score"], ascending=[True, False]).groupby("customer_id").head(1)
    first = backtest[backtest["rank"] == 1].merge(top, on="customer_id", suffixes=("", "_top"))
    assert (first["score"] == first["score_top"]).all()
    evaluation = copy.query("select method, k, hit_rate from marts.next_best_category_evaluation")
    assert "lightgbm" in set(evaluation["method"])
    events = copy.query("select customer_id, category from marts.next_best_category_holdout_events")
    lists = copy.query(
        "select customer_id, rank, category from marts.next_best_category_backtest where method = 'lightgbm'"
    )
    merged = events.merge(lists, on=["customer_id", "category"], how="left")
    for k in (1, 3):
        expected = float((merged["rank"] <= k).mean())
        got = evaluation[(evaluation["method"] == "lightgbm") & (evaluation["k"] == k)]["hit_rate"].iloc[0]
        assert abs(got - expected) < 1e-12
    served = copy.query("select distinct method from marts.next_best_category")["method"].tolist()
    chosen = copy.query("select distinct method from marts.next_best_category_validation where is_served")
    assert served == chosen["method"].tolist()


def test_learned_scores_do_not_peek_at_the_test_window(duckdb_warehouse_generated) -> None:
    data, validation_cutoff, cutoff = recs_model.read_data(_app_warehouse(duckdb_warehouse_generated))
    window = cutoff - validation_cutoff
    before = {end: recs_model.scope_scores(data, end, window) for end in (validation_cutoff, cutoff)}
    purchases = data.purchases.copy()
    late = pd.to_datetime(purchases["transaction_date"]) >= pd.Timestamp(cutoff)
    assert late.sum() > 1000
    rotate = dict(zip(data.categories, data.categories[1:] + data.categories[:1], strict=True))
    purchases.loc[late, "category"] = purchases.loc[late, "category"].map(rotate)
    purchases.loc[late, "transaction_at"] = pd.to_datetime(purchases.loc[late, "transaction_at"]) + timedelta(
        days=3
    )
    changed = recs_model.Data(purchases, data.customers, data.categories)
    for end, scores in before.items():
        pd.testing.assert_frame_equal(scores, recs_model.scope_scores(changed, end, window))


def test_shuffled_labels_lose_the_lift(duckdb_warehouse_generated) -> None:
    wh = duckdb_warehouse_generated
    data, validation_cutoff, cutoff = recs_model.read_data(_app_warehouse(wh))
    window = cutoff - validation_cutoff
    events = wh.query("select customer_id, category from marts.next_best_category_holdout_events")
    best = _baseline_rates(wh)
    real = _hit_rates(recs_model.scope_scores(data, cutoff, window), events)
    shuffled = _hit_rates(recs_model.scope_scores(data, cutoff, window, shuffle_seed=7), events)
    lift, shuffled_lift = real[1] - best[1], shuffled[1] - best[1]
    assert lift > 0.08, (real, best)
    assert shuffled_lift < lift / 3, (real, shuffled, best)
