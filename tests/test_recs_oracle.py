"""The recommender's ceiling (c360.recs.oracle): faithful to the generator, and an upper bound.

- the absorption odds equal a Monte Carlo run of the same chain;
- the chain's one-step matrix is what the generator actually draws (observed vs expected
  transitions in a generated world);
- the latent ids are the generated file's contact ids;
- on the session's generated warehouse the oracle is at least as good as the model, its
  re-scoring of the model equals the dbt evaluation, and giving it other people's tastes
  costs it its edge at k = 1.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import GENERATED_CUSTOMERS, GENERATED_DAYS, GENERATED_NOW, GENERATED_SEED, Warehouse

from c360.recs import oracle as recs_oracle
from c360.recs.evaluation import oracle_share
from data_gen.generate import behaviour as gen_behaviour
from data_gen.generate.defects import resolve_rates
from data_gen.generate.generator import simulate


@pytest.fixture(scope="module")
def latent() -> recs_oracle.Latent:
    """Latent state of the session's generated data set (same arguments as conftest)."""
    return recs_oracle.latent_state(GENERATED_CUSTOMERS, GENERATED_SEED, GENERATED_DAYS, GENERATED_NOW)


def test_absorption_odds_match_a_simulation_of_the_chain() -> None:
    rng = np.random.default_rng(3)
    taste = rng.dirichlet(np.ones(7))
    bought = np.zeros(7, dtype=bool)
    bought[[0, 2, 5]] = True
    odds = recs_oracle.first_new_category_odds(taste, bought, last=2)
    assert odds[bought].sum() == 0 and odds.sum() == pytest.approx(1.0)

    step = np.cumsum(recs_oracle.step_matrix(taste), axis=1)
    state = np.full(200_000, 2)
    running = np.ones(len(state), dtype=bool)
    while running.any():
        u = rng.random(running.sum())
        state[running] = np.minimum((u[:, None] > step[state[running]]).sum(axis=1), 6)
        running = bought[state]
    simulated = np.bincount(state, minlength=7) / len(state)
    np.testing.assert_allclose(simulated, odds, atol=0.006)


def test_step_matrix_is_what_the_generator_draws() -> None:
    world = simulate(3000, 11, 365, resolve_rates("none"), GENERATED_NOW)
    tx, taste_cum = world.tx, world.cust.taste
    taste = np.diff(np.concatenate([np.zeros((len(taste_cum), 1)), taste_cum], axis=1), axis=1)
    same = tx.customer[1:] == tx.customer[:-1]  # consecutive purchases of one customer, in time order
    prev, nxt, owner = tx.category[:-1][same], tx.category[1:][same], tx.customer[1:][same]
    observed = np.zeros((7, 7))
    np.add.at(observed, (prev, nxt), 1)
    expected = np.zeros((7, 7))
    for person in np.unique(owner):
        rows = prev[owner == person]
        expected += np.bincount(rows, minlength=7)[:, None] * recs_oracle.step_matrix(taste[person])
    assert observed.sum() > 20_000
    # Poisson-sized tolerance per cell: 5 standard deviations.
    assert (np.abs(observed - expected) <= 5 * np.sqrt(expected) + 5).all(), observed - expected
    # and the planted transitions are visible: the oracle is not trivially the taste.
    planted = [
        (gen_behaviour.CATEGORIES.index(a), gen_behaviour.CATEGORIES.index(b))
        for a, b in gen_behaviour.PLANTED_TRANSITIONS.items()
    ]
    assert all(observed[a, b] > 1.5 * expected[a].mean() for a, b in planted)


def test_latent_ids_are_the_generated_contact_ids(latent: recs_oracle.Latent, generated_dir: Path) -> None:
    with open(generated_dir / "contacts.csv", newline="", encoding="utf-8") as handle:
        file_ids = {row["id"] for row in csv.DictReader(handle)}
    manifest = json.loads((generated_dir / "manifest.json").read_text())
    aliases = manifest["defects"]["contacts"]["same_person_new_id"]["pairs"]
    assert aliases  # the default data set has people registered twice
    assert len(latent.contact_id) == len(latent.taste) == GENERATED_CUSTOMERS + len(aliases)
    assert np.isin(latent.contact_id, list(file_ids)).mean() > 0.97
    np.testing.assert_allclose(latent.taste.sum(axis=1), 1.0)
    row = {cid: i for i, cid in enumerate(latent.contact_id)}
    for original, alias in aliases:  # one person, one taste
        np.testing.assert_array_equal(latent.taste[row[original]], latent.taste[row[alias]])


def test_oracle_bounds_the_model_on_the_generated_warehouse(
    latent: recs_oracle.Latent, duckdb_warehouse_generated: Warehouse
) -> None:
    path = duckdb_warehouse_generated.duckdb_path
    assert path is not None
    table = recs_oracle.compare(path, latent).set_index(["method", "k"])
    assert table["customers"].iloc[0] >= 0.95 * table["test_customers"].iloc[0] > 100
    for k in recs_oracle.KS:
        assert table.loc[("oracle", k), "hit_rate"] >= table.loc[("model", k), "hit_rate"]

    # the printed share of the oracle's lift: (model - best baseline) / (oracle - best baseline)
    shares = oracle_share(table.reset_index(), "model")
    for k in recs_oracle.KS:
        rate = table["hit_rate"].xs(k, level="k")
        best = max(rate["cohort"], rate["popularity"])
        assert shares[k] == pytest.approx((rate["model"] - best) / (rate["oracle"] - best))

    # The scoring of c360.recs.oracle equals dbt's evaluation for the model on all test customers.
    events, _, backtest = recs_oracle._read(path)
    model_lists = backtest[backtest["method"] == "model"].drop(columns="method")
    con = duckdb.connect(str(path), read_only=True)
    try:
        dbt_rates = (
            con.execute("select k, hit_rate from marts.next_best_category_evaluation where method = 'model'")
            .df()
            .set_index("k")["hit_rate"]
        )
    finally:
        con.close()
    for k, rate in recs_oracle.hit_rates(model_lists, events).items():
        assert rate == pytest.approx(float(dbt_rates[k]))

    # Other people's tastes: the oracle's edge at k = 1 goes (its knowledge is the latent taste).
    shuffled = recs_oracle.Latent(latent.contact_id, np.random.default_rng(5).permutation(latent.taste))
    blind = recs_oracle.compare(path, shuffled).set_index(["method", "k"])
    assert blind.loc[("oracle", 1), "hit_rate"] < table.loc[("oracle", 1), "hit_rate"] - 0.05
