"""Next best category recommender: outputs recomputed independently in pandas.

Runs on the session's built warehouses (generated data, DuckDB and Postgres; the exercise
sample on DuckDB). Every expected value is computed here from marts.transactions /
marts.customers with plain pandas, never by reading back the SQL's intermediate numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_gen.generate import behaviour as gen_behaviour

CATEGORIES = list(gen_behaviour.CATEGORIES)  # the product_categories seed, in sort_order 1..7
DECAY, SMOOTHING, HISTORY = 0.7, 5.0, 50  # dbt var defaults of recs_recommend / recs_category_affinity
HOLDOUT_FRACTION = 0.2
NOT_RECENT_DAYS = 30  # dbt var recs_not_recent_days
METHODS = ("cohort", "model", "popularity")
REBUY_REASON = r"(Not bought recently|Buy again \(no other new category to suggest\)): "

WAREHOUSES = [
    "duckdb_warehouse_generated",
    pytest.param("pg_warehouse_generated", marks=pytest.mark.postgres),
]


@pytest.fixture(params=WAREHOUSES)
def wh(request: pytest.FixtureRequest):
    """A built warehouse on generated data (DuckDB, then Postgres)."""
    return request.getfixturevalue(request.param)


def _transactions(wh) -> pd.DataFrame:
    tx = wh.query(
        "select customer_id, transaction_id, transaction_at, transaction_date, category"
        " from marts.transactions"
    )
    tx["transaction_at"] = pd.to_datetime(tx["transaction_at"])
    tx["transaction_date"] = pd.to_datetime(tx["transaction_date"])
    return tx.sort_values(["customer_id", "transaction_at", "transaction_id"]).reset_index(drop=True)


def _cutoff(wh) -> pd.Timestamp:
    cutoff = wh.query("select cutoff_date from marts.next_best_category_cutoff")["cutoff_date"]
    return pd.Timestamp(cutoff.iloc[0])


def _new_category_events(
    tx: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Per customer with a purchase before `start`: the first purchase in [start, end) in a new category."""
    train = tx[tx["transaction_date"] < start]
    window = tx[tx["transaction_date"] >= start]
    if end is not None:
        window = window[window["transaction_date"] < end]
    seen = set(zip(train["customer_id"], train["category"], strict=True))
    keys = zip(window["customer_id"], window["category"], strict=True)
    new = window[[key not in seen for key in keys]]
    new = new[new["customer_id"].isin(train["customer_id"])]
    return new.groupby("customer_id").head(1)


def _percent(share: float) -> int:
    """Whole percent as the reasons print it (SQL round: half away from zero)."""
    return int(np.floor(100 * share + 0.5))


def reference_scores(tx: pd.DataFrame) -> pd.DataFrame:
    """The model's score per customer x category, recomputed from its definition (docs/recommender.md)."""
    tx = tx.sort_values(["customer_id", "transaction_at", "transaction_id"])
    nxt = tx.groupby("customer_id")["category"].shift(-1)
    pairs = pd.DataFrame({"src": tx["category"], "dst": nxt}).dropna()
    switches = pairs[pairs["src"] != pairs["dst"]]
    counts = pd.crosstab(switches["src"], switches["dst"])
    counts = counts.reindex(index=CATEGORIES, columns=CATEGORIES).fillna(0)
    into = counts.sum(axis=0)
    out = counts.sum(axis=1)
    total = into.sum()
    prior = np.outer(1.0 / (total - into.values), into.values)  # prior[x, y] = into[y] / (total - into[x])
    trans = (counts.values + SMOOTHING * prior) / (out.values[:, None] + SMOOTHING)
    np.fill_diagonal(trans, 0.0)
    recency = tx.groupby("customer_id").cumcount(ascending=False) + 1
    weight = np.where(recency <= HISTORY, DECAY ** (recency - 1), 0.0)
    hist = (
        tx.assign(w=weight).pivot_table(index="customer_id", columns="category", values="w", aggfunc="sum")
        .reindex(columns=CATEGORIES).fillna(0.0)
    )  # fmt: skip
    scores = hist.values @ trans / hist.values.sum(axis=1, keepdims=True)
    return pd.DataFrame(scores, index=hist.index, columns=CATEGORIES)


def test_every_customer_gets_three_distinct_ranked_categories(wh) -> None:
    recs = wh.query("select customer_id, rank, category from marts.next_best_category")
    customers = set(wh.query("select customer_id from marts.customers")["customer_id"])
    assert set(recs["customer_id"]) == customers
    per_customer = recs.groupby("customer_id").agg(
        ranks=("rank", lambda r: tuple(sorted(r))), n=("category", "nunique")
    )
    assert (per_customer["ranks"] == (1, 2, 3)).all()
    assert (per_customer["n"] == 3).all()
    assert set(recs["category"]) <= set(CATEGORIES)


def test_bought_categories_only_as_not_recently_and_only_when_needed(wh) -> None:
    tx = _transactions(wh)
    recs = wh.query(
        "select customer_id, rank, category, reason, is_new_category from marts.next_best_category"
    )
    last = tx.groupby(["customer_id", "category"])["transaction_at"].max().rename("last_at").reset_index()
    recs = recs.merge(last, on=["customer_id", "category"], how="left")
    bought = recs["last_at"].notna()
    rebuy = recs["reason"].str.match(REBUY_REASON)
    assert rebuy[bought].all()
    assert not rebuy[~bought].any()
    assert (recs["is_new_category"] == ~bought).all()
    # a bought category appears only when fewer than 3 new ones are left, and after all of them
    new_left = 7 - tx.groupby("customer_id")["category"].nunique()
    n_new = recs[~bought].groupby("customer_id").size()
    expected_new = new_left.clip(upper=3).reindex(recs["customer_id"].unique()).fillna(3)
    assert (n_new.reindex(expected_new.index).fillna(0) == expected_new).all()
    first_bought = recs[bought].groupby("customer_id")["rank"].min()
    last_new = recs[~bought].groupby("customer_id")["rank"].max().reindex(first_bought.index).fillna(0)
    assert (first_bought > last_new).all()
    # "N days ago" is the days from that category's last purchase to the latest transaction
    as_of = tx["transaction_at"].max().normalize()
    days = (as_of - recs.loc[bought, "last_at"].dt.normalize()).dt.days
    quoted = recs.loc[bought, "reason"].str.extract(r"purchase (\d+) days ago")[0].astype(int)
    assert (quoted == days).all()
    # "Not bought recently" only when it is true: at least NOT_RECENT_DAYS since the last purchase
    not_recent = recs.loc[bought, "reason"].str.startswith("Not bought recently")
    assert (not_recent == (days >= NOT_RECENT_DAYS)).all()
    assert not_recent.any() and (~not_recent).any(), "both kinds of re-buy reason should occur"


def test_model_scores_and_order_recomputed(wh) -> None:
    tx = _transactions(wh)
    ref = reference_scores(tx)
    recs = wh.query(
        "select customer_id, rank, category, score, is_new_category from marts.next_best_category"
    )
    new = recs[recs["is_new_category"] & recs["customer_id"].isin(ref.index)]
    expected = [ref.at[c, k] for c, k in zip(new["customer_id"], new["category"], strict=True)]
    np.testing.assert_allclose(new["score"].astype(float), expected, rtol=1e-9, atol=1e-12)
    # rank 1 is the best-scoring category the customer has not bought
    bought = tx.groupby("customer_id")["category"].agg(set)
    firsts = new[new["rank"] == 1]
    best = [
        max((k for k in CATEGORIES if k not in bought[c]), key=lambda k, c=c: ref.at[c, k])
        for c in firsts["customer_id"]
    ]
    assert (firsts["category"].to_numpy() == np.array(best)).mean() > 0.999  # float ties may swap


def test_rank_follows_score_and_reasons_are_true(wh) -> None:
    """Rank 1..3 follows score descending, and every reason is true of the data it quotes."""
    tx = _transactions(wh)
    for table in ("next_best_category", "next_best_category_backtest"):
        lists = wh.query(f"select * from marts.{table}")  # noqa: S608 (fixed table names)
        keys = ["method", "customer_id"] if table.endswith("backtest") else ["customer_id"]
        lists = lists.sort_values([*keys, "rank"])
        drop = lists.groupby(keys)["score"].diff().dropna()
        assert (drop <= 1e-12).all(), f"{table}: {(drop > 1e-12).sum()} rows scored above the rank before"
        # re-buy picks come after every new category and are not scored
        assert (lists.loc[~lists["is_new_category"].astype(bool), "score"] == 0).all()
    recs = wh.query("select customer_id, category, reason from marts.next_best_category")
    nxt = tx.groupby("customer_id")["category"].shift(-1)
    pairs = pd.DataFrame({"src": tx["category"], "dst": nxt}).dropna()
    switches = pairs[pairs["src"] != pairs["dst"]]
    share = switches.value_counts().div(switches["src"].value_counts(), level="src")
    bought = tx.groupby("customer_id")["category"].agg(set)
    buyers = tx.groupby("category")["customer_id"].nunique() / tx["customer_id"].nunique()
    transition = (
        recs["reason"]
        .str.extract(
            r"^Customers who bought (?P<src>.+) (?P<word>often|also) buy (?P<dst>.+) next"
            r" \((?P<pct>\d+)% of their"
        )
        .dropna()
    )
    assert len(transition) > 100
    for row in transition.join(recs).itertuples():
        assert row.dst == row.category
        assert row.src in bought[row.customer_id]
        observed = share[(row.src, row.dst)]
        assert int(row.pct) == _percent(observed)
        assert (row.word == "often") == (observed >= 0.25)
    popular = recs["reason"].str.extract(r"^(?:No purchases yet, so a p|P)opular choice: (\d+)% of customers")
    popular = popular.dropna().join(recs)
    assert len(popular) > 0
    assert (popular[0].astype(int) == popular["category"].map(buyers).map(_percent)).all()


def test_validation_window_chooses_the_served_method(wh) -> None:
    """The served method is the best NDCG@3 on the validation window, which ends before the test window."""
    tx = _transactions(wh)
    split = wh.query("select * from marts.next_best_category_cutoff").iloc[0]
    cutoff = pd.Timestamp(split["cutoff_date"])
    validation_cutoff = pd.Timestamp(split["validation_cutoff_date"])
    first = tx["transaction_date"].min()
    days = int(np.floor((cutoff - first).days * (1 - HOLDOUT_FRACTION)))
    assert validation_cutoff == first + pd.Timedelta(days=days)
    assert validation_cutoff < cutoff
    validation = wh.query("select * from marts.next_best_category_validation")
    events = _new_category_events(tx, validation_cutoff, cutoff)
    assert (validation["customers_evaluated"] == len(events)).all() and len(events) > 100
    # the popularity baseline's validation hit rate, recomputed: most-bought categories not yet bought
    train = tx[tx["transaction_date"] < validation_cutoff]
    buyers = train.groupby("category")["customer_id"].nunique().reindex(CATEGORIES).fillna(0)
    order = sorted(CATEGORIES, key=lambda k: (-buyers[k], CATEGORIES.index(k)))
    bought = train.groupby("customer_id")["category"].agg(set)
    rates = validation.set_index(["method", "k"])
    for k in (1, 3):
        hits = sum(
            row.category in [c for c in order if c not in bought[row.customer_id]][:k]
            for row in events.itertuples()
        )
        assert rates.at[("popularity", k), "hit_count"] == hits
    # the choice: best validation NDCG at k = 3, model first on ties; served everywhere
    at3 = validation[validation["k"] == 3].set_index("method")["ndcg"]
    priority = ("model", "cohort", "popularity")
    best = max(priority, key=lambda m: (at3[m], -priority.index(m)))
    served = validation.loc[validation["is_served"], "method"].unique().tolist()
    assert served == [best]
    assert set(wh.query("select distinct method from marts.next_best_category")["method"]) == {best}
    evaluation = wh.query(
        "select served_method, validation_ndcg, method, k from marts.next_best_category_evaluation"
    )
    assert set(evaluation["served_method"]) == {best}
    chosen = evaluation[(evaluation["method"] == "served") & (evaluation["k"] == 3)]["validation_ndcg"]
    assert chosen.iloc[0] == pytest.approx(at3[best])


def test_prospects_get_popular_categories(wh) -> None:
    tx = _transactions(wh)
    recs = wh.query("select customer_id, rank, category, reason from marts.next_best_category")
    prospects = recs[~recs["customer_id"].isin(tx["customer_id"])]
    assert len(prospects) > 0
    assert prospects["reason"].str.startswith("No purchases yet, so a popular choice").all()
    buyers = tx.groupby("category")["customer_id"].nunique().reindex(CATEGORIES).fillna(0)
    top3 = sorted(CATEGORIES, key=lambda k: (-buyers[k], CATEGORIES.index(k)))[:3]
    for _, rows in prospects.groupby("customer_id"):
        assert rows.sort_values("rank")["category"].tolist() == top3


def test_category_affinity_counts_recomputed(wh) -> None:
    tx = _transactions(wh)
    nxt = tx.groupby("customer_id")["category"].shift(-1)
    pairs = pd.DataFrame({"from_category": tx["category"], "to_category": nxt}).dropna()
    expected = pairs.value_counts().rename("expected").reset_index()
    got = wh.query("select from_category, to_category, transition_count, score from marts.category_affinity")
    assert len(got) == 49
    merged = got.merge(expected, on=["from_category", "to_category"], how="left").fillna({"expected": 0})
    assert (merged["transition_count"] == merged["expected"]).all()
    off = merged[merged["from_category"] != merged["to_category"]]
    assert off.groupby("from_category")["score"].sum().sub(1).abs().max() < 1e-9  # a distribution per X


def test_time_split_and_holdout_events(wh) -> None:
    tx = _transactions(wh)
    cutoff = _cutoff(wh)
    first, last = tx["transaction_date"].min(), tx["transaction_date"].max()
    assert cutoff == first + pd.Timedelta(days=int(np.floor((last - first).days * (1 - HOLDOUT_FRACTION))))
    train = tx[tx["transaction_date"] < cutoff]
    expected = _new_category_events(tx, cutoff)[["customer_id", "category", "transaction_id"]]
    events = wh.query(
        "select customer_id, category, transaction_id, purchased_at"
        " from marts.next_best_category_holdout_events"
    )
    assert len(events) > 100
    assert (pd.to_datetime(events["purchased_at"]) >= cutoff).all()
    key = ["customer_id", "category", "transaction_id"]
    pd.testing.assert_frame_equal(
        events[key].sort_values(key).reset_index(drop=True), expected.sort_values(key).reset_index(drop=True)
    )
    backtest = wh.query("select distinct customer_id from marts.next_best_category_backtest")
    assert set(backtest["customer_id"]) == set(train["customer_id"])


def test_hit_rates_recomputed_from_backtest_and_events(wh) -> None:
    backtest = wh.query("select method, customer_id, rank, category from marts.next_best_category_backtest")
    events = wh.query(
        "select customer_id, category as holdout_category from marts.next_best_category_holdout_events"
    )
    evaluation = wh.query("select * from marts.next_best_category_evaluation")
    assert sorted(zip(evaluation["method"], evaluation["k"], strict=True)) == [
        (m, k) for m in sorted((*METHODS, "served")) for k in (1, 3)
    ]
    served = evaluation["served_method"].unique()
    assert len(served) == 1 and served[0] in METHODS
    for row in evaluation.itertuples():
        method = served[0] if row.method == "served" else row.method
        lists = backtest[(backtest["method"] == method) & (backtest["rank"] <= row.k)]
        joined = events.merge(lists, on="customer_id", how="left")
        hit_rows = joined[joined["category"] == joined["holdout_category"]]
        hits = hit_rows["customer_id"].nunique()
        assert row.customers_evaluated == len(events)
        assert row.hit_count == hits
        assert row.hit_rate == pytest.approx(hits / len(events))
        # one relevant category per customer: NDCG@k = mean of 1 / log2(1 + its rank) within the top k
        assert row.ndcg == pytest.approx((1.0 / np.log2(1 + hit_rows["rank"])).sum() / len(events))
        assert row.ndcg <= row.hit_rate + 1e-12
        covered = lists[lists["customer_id"].isin(events["customer_id"])]["category"].nunique()
        assert row.coverage == pytest.approx(covered / 7)


def test_model_beats_baselines_on_generated_data(duckdb_warehouse_generated) -> None:
    evaluation = duckdb_warehouse_generated.query(
        "select method, k, hit_rate from marts.next_best_category_evaluation"
    )
    rates = evaluation.set_index(["method", "k"])["hit_rate"]
    for k in (1, 3):
        assert rates[("model", k)] > max(rates[("popularity", k)], rates[("cohort", k)])


@pytest.mark.postgres
def test_duckdb_and_postgres_agree(duckdb_warehouse_generated, pg_warehouse_generated) -> None:
    sql = (
        "select method, k, hit_count, customers_evaluated"
        " from marts.next_best_category_evaluation order by method, k"
    )
    pd.testing.assert_frame_equal(
        duckdb_warehouse_generated.query(sql).astype("int64", errors="ignore"),
        pg_warehouse_generated.query(sql).astype("int64", errors="ignore"),
        check_dtype=False,
    )


def test_exercise_sample(duckdb_warehouse_sample) -> None:
    recs = duckdb_warehouse_sample.query("select customer_id, rank from marts.next_best_category")
    customers = duckdb_warehouse_sample.query("select customer_id from marts.customers")
    assert set(recs["customer_id"]) == set(customers["customer_id"])
    assert (recs.groupby("customer_id")["rank"].apply(lambda r: sorted(r) == [1, 2, 3])).all()
    evaluation = duckdb_warehouse_sample.query("select * from marts.next_best_category_evaluation")
    assert len(evaluation) == 8  # 3 methods + served, k = 1 and 3
    assert set(evaluation["served_method"]) <= {"model", "cohort", "popularity"}
    assert (evaluation["customers_evaluated"] >= 1).all()


def test_hit_rate_intervals_are_a_seeded_bootstrap(duckdb_warehouse_generated) -> None:
    """Every hit rate's 95% interval equals a direct numpy bootstrap of the test customers' hits."""
    from c360.recs import report
    from c360.warehouse import Warehouse as AppWarehouse

    wh = duckdb_warehouse_generated
    table = report.read_evaluation(AppWarehouse("duckdb", duckdb_path=wh.duckdb_path))
    backtest = wh.query("select method, customer_id, rank, category from marts.next_best_category_backtest")
    events = wh.query("select customer_id, category from marts.next_best_category_holdout_events")
    events = events.sort_values("customer_id", ignore_index=True)  # resampled in customer_id order
    assert len(table) == 8 and table["hit_rate_low"].notna().all()
    for row in table.itertuples():
        method = row.served_method if row.method == "served" else row.method
        lists = backtest[backtest["method"] == method]
        listed = events.merge(lists, on=["customer_id", "category"], how="left")
        hits = (listed["rank"] <= row.k).to_numpy(dtype=float)
        assert hits.mean() == pytest.approx(row.hit_rate)
        rng = np.random.default_rng(report.BOOTSTRAP_SEED)
        means = hits[rng.integers(0, len(hits), size=(report.BOOTSTRAP_SAMPLES, len(hits)))].mean(axis=1)
        low, high = np.quantile(means, [0.025, 0.975])
        assert (row.hit_rate_low, row.hit_rate_high) == pytest.approx((low, high), abs=1e-12)
        # and it is the width a binomial proportion should have (normal approximation)
        half = 1.96 * np.sqrt(row.hit_rate * (1 - row.hit_rate) / len(hits))
        assert row.hit_rate_low < row.hit_rate < row.hit_rate_high
        assert (row.hit_rate_high - row.hit_rate_low) / 2 == pytest.approx(half, rel=0.2)
    markdown = report.format_markdown(table)
    assert "95% interval" in markdown and "served = " in markdown
