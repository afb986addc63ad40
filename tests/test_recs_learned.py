"""The learned recommender (LightGBM lambdarank, c360.recs.model) and its honesty controls.

On the session's generated DuckDB warehouse (or a copy of it):
  - written back and rebuilt, `lightgbm` is a candidate method: its backtest lists are its test
    scores ranked (recomputed in pandas) and its evaluation hit rate is recomputed from them;
  - no peeking: changing every purchase on or after the cutoff leaves the validation and test
    scores (and so the choice of the served method) unchanged;
  - shuffle control: trained on labels moved to a random candidate, it loses its lift;
  - `make build`'s step (c360.recs.step) writes the scores and, given the generator's manifest,
    the oracle's lists into the build's copy only; the evaluation's oracle row equals
    c360.recs.oracle's own scoring; another seed's manifest writes no oracle.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from conftest import Warehouse, duckdb_warehouse

from c360.recs import model as recs_model
from c360.recs import oracle as recs_oracle
from c360.recs import step as recs_step
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


def test_lightgbm_is_a_candidate_scored_by_the_dbt_macros(
    duckdb_warehouse_generated, generated_dir, tmp_path, monkeypatch
) -> None:
    """`make build`'s recommender step (c360.recs.step.run) on a copy as the build's candidate:
    the learned scores and the oracle's lists written into the copy only, one rebuild."""
    copy = duckdb_warehouse(tmp_path)
    shutil.copyfile(duckdb_warehouse_generated.duckdb_path, copy.duckdb_path)
    source = duckdb_warehouse_generated.duckdb_path
    before = (source.stat().st_mtime_ns, source.stat().st_size)
    monkeypatch.setenv("C360_GENERATOR_MANIFEST", str(generated_dir / "manifest.json"))
    monkeypatch.delenv(recs_step.MODEL_ENV, raising=False)
    result = recs_step.run("duckdb", {"C360_DUCKDB_PATH": str(copy.duckdb_path)}, copy.target_path)
    assert result.error is None, result.error
    assert [line.split(":")[0] for line in result.lines] == [
        "recs model", "recs oracle", "recs rebuild", "recs step"
    ]  # fmt: skip
    assert "LightGBM trained" in result.lines[0] and "s added to the build" in result.lines[3]
    assert (source.stat().st_mtime_ns, source.stat().st_size) == before  # only the copy was written
    assert not (copy.target_path / "run_results.json").exists()  # the step's artifacts are its own
    assert (copy.target_path / recs_step.STEP_TARGET / "run_results.json").is_file()
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

    # the oracle row: the generator's odds, scored on every test customer (unmatched = a miss)
    assert "oracle" not in set(  # a warehouse without the step's lists (own data) has none
        duckdb_warehouse_generated.query("select method from marts.next_best_category_evaluation")["method"]
    )
    oracle = evaluation[evaluation["method"] == "oracle"].set_index("k")["hit_rate"]
    assert sorted(oracle.index) == [1, 3]
    latent = recs_oracle.manifest_latent(recs_oracle.read_manifest(generated_dir / "manifest.json"))
    ceiling = recs_oracle.compare(copy.duckdb_path, latent).set_index(["method", "k"])
    matched, total = ceiling["customers"].iloc[0], ceiling["test_customers"].iloc[0]
    assert matched >= 0.95 * total and total == len(events)
    rows = copy.query(
        "select method, k, validation_ndcg, served_method from marts.next_best_category_evaluation"
    )
    for k in (1, 3):
        assert oracle[k] * total == pytest.approx(ceiling.loc[("oracle", k), "hit_rate"] * matched)
        assert (
            oracle[k]
            >= evaluation[(evaluation["k"] == k) & (evaluation["method"] != "oracle")]["hit_rate"].max()
        )
    assert rows[rows["method"] == "oracle"]["validation_ndcg"].isna().all()
    assert set(rows["served_method"]) == set(chosen["method"]) and "oracle" not in set(chosen["method"])


def test_oracle_lists_need_the_generator_of_the_loaded_data(
    duckdb_warehouse_generated, generated_dir, tmp_path
) -> None:
    """Another seed's manifest (same contact count, other people) is not the truth of this data."""
    manifest = json.loads((generated_dir / "manifest.json").read_text())
    other = tmp_path / "manifest.json"
    other.write_text(json.dumps({**manifest, "seed": manifest["seed"] + 1}))
    written, line = recs_step.oracle(_app_warehouse(duckdb_warehouse_generated), "", other)
    assert not written and line is not None and "not written" in line
    assert recs_step.oracle(_app_warehouse(duckdb_warehouse_generated), "", tmp_path / "none.json") == (
        False,
        None,
    )


def test_the_step_skips_with_one_line(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("C360_GENERATOR_MANIFEST", str(tmp_path / "absent.json"))
    assert recs_step.run("spark", {}, tmp_path).lines[0].startswith("recs model: not run on spark (")
    monkeypatch.setenv(recs_step.MODEL_ENV, "off")
    off = recs_step.run("duckdb", {"C360_DUCKDB_PATH": str(tmp_path / "x.duckdb")}, tmp_path)
    assert off.lines == ["recs model: skipped (C360_RECS_MODEL=off)"] and off.error is None


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
