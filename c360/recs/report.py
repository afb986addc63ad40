"""Read and format the recommender's offline evaluation (`marts.next_best_category_evaluation`).

`read_evaluation` reads the table from a built DuckDB file or Postgres database (through
`c360.warehouse`) and adds a bootstrap 95% interval to every hit rate (`hit_rate_intervals`:
test customers resampled with replacement, seeded, so a run always prints the same interval);
`format_markdown` renders one or more evaluations as the Markdown table printed by
`make eval-recs` and kept in docs/recommender.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from c360.warehouse import Warehouse, query

EVALUATION_SQL = (
    "select dataset, cutoff_date, validation_cutoff_date, method, k, hit_rate, ndcg, coverage,"
    " customers_evaluated, hit_count, guaranteed_hit_rate, validation_hit_rate, validation_ndcg,"
    " served_method from marts.next_best_category_evaluation order by k, method"
)
# every test customer, with the rank of their event category in each method's list that has it
# (the oracle's lists, on generated data, from staging.stg_recs_model__oracle_lists)
EVENT_RANK_SQL = """
    select events.customer_id, lists.method, lists.rank as event_rank
    from marts.next_best_category_holdout_events as events
    left join (
        select method, customer_id, rank, category from marts.next_best_category_backtest
        union all
        select 'oracle' as method, customer_id, rank, category from staging.stg_recs_model__oracle_lists
    ) as lists
        on lists.customer_id = events.customer_id
        and lists.category = events.category
"""
BASELINES = ("popularity", "cohort")
METHOD_ORDER = {"served": 0, "lightgbm": 1, "model": 2, "cohort": 3, "popularity": 4, "oracle": 5}
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20
BOOTSTRAP_CHUNK = 200


def bootstrap_interval(
    hits: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of the 0/1 array `hits` (customers resampled
    with replacement `samples` times from numpy's default_rng(seed)); (nan, nan) when empty."""
    values = np.asarray(hits, dtype=float)
    if values.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = np.empty(samples)
    for start in range(0, samples, BOOTSTRAP_CHUNK):
        size = min(BOOTSTRAP_CHUNK, samples - start)
        means[start : start + size] = values[rng.integers(0, values.size, size=(size, values.size))].mean(
            axis=1
        )
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def hit_rate_intervals(
    event_ranks: pd.DataFrame, evaluation: pd.DataFrame, seed: int = BOOTSTRAP_SEED
) -> pd.DataFrame:
    """`evaluation` with hit_rate_low / hit_rate_high: the bootstrap 95% interval of each row's
    hit rate, from `event_ranks` (customer_id, method, event_rank: every test customer, with the
    rank of their event category in each method's list that has it; method null when none has)."""
    customers = event_ranks["customer_id"].drop_duplicates().sort_values()  # a fixed resampling order
    served = evaluation["served_method"].dropna()
    bounds = []
    for row in evaluation.itertuples():
        method = served.iloc[0] if row.method == "served" and len(served) else row.method
        ranks = event_ranks[event_ranks["method"] == method].set_index("customer_id")["event_rank"]
        hits = (ranks.reindex(customers).astype(float) <= row.k).to_numpy()
        bounds.append(bootstrap_interval(hits, seed=seed))
    out = evaluation.copy()
    out["hit_rate_low"] = [low for low, _ in bounds]
    out["hit_rate_high"] = [high for _, high in bounds]
    return out


def read_evaluation(warehouse: Warehouse) -> pd.DataFrame:
    """The evaluation table of one built DuckDB or Postgres warehouse, with hit rate intervals."""
    wh = warehouse.require()
    return hit_rate_intervals(query(wh, EVENT_RANK_SQL), query(wh, EVALUATION_SQL))


def with_lift(frame: pd.DataFrame) -> pd.DataFrame:
    """Add `best_baseline_hit_rate` and `lift` (hit rate / best baseline's - 1, for the models,
    the served method and the oracle) per dataset and k."""
    keys = ["dataset", "k"]
    baselines = frame[frame["method"].isin(BASELINES)].groupby(keys)["hit_rate"].max()
    baselines = baselines.rename("best_baseline_hit_rate").reset_index()
    out = frame.merge(baselines, on=keys, how="left")
    out["lift"] = out["hit_rate"] / out["best_baseline_hit_rate"] - 1.0
    out.loc[~out["method"].isin(["model", "lightgbm", "served", "oracle"]), "lift"] = float("nan")
    return out


def _percent(value: float, digits: int = 1) -> str:
    return "n/a" if pd.isna(value) else f"{value:.{digits}%}"


def format_markdown(frame: pd.DataFrame) -> str:
    """A Markdown table: dataset, cutoff, method, k, hit rate with its 95% interval, lift, NDCG,
    validation NDCG, coverage, customers, floor."""
    rows = [
        "| dataset | cutoff | method | k | hit rate | 95% interval | vs best baseline | NDCG "
        "| validation NDCG | coverage | customers evaluated | guaranteed hits |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    data = with_lift(frame)
    data = data.assign(_o=data["method"].map(METHOD_ORDER)).sort_values(["dataset", "k", "_o"])
    for row in data.itertuples():
        lift = "" if pd.isna(row.lift) else f"{row.lift:+.1%}"
        method = f"served = {row.served_method}" if row.method == "served" else row.method
        interval = f"{_percent(row.hit_rate_low)} – {_percent(row.hit_rate_high)}"
        cutoff = pd.Timestamp(row.cutoff_date).date()
        rows.append(
            f"| {row.dataset} | {cutoff} | {method} | {row.k} | {_percent(row.hit_rate)} | {interval} "
            f"| {lift} | {_percent(row.ndcg)} | {_percent(row.validation_ndcg)} | {row.coverage:.0%} "
            f"| {row.customers_evaluated:,} | {_percent(row.guaranteed_hit_rate)} |"
        )
    return "\n".join(rows)
