"""The ceiling of the next-best-category evaluation on generated data: the generator's own odds.

The generator (`data_gen.generate.behaviour`) draws each purchase's category from a known process:
repeat the previous category with probability REPEAT, follow the planted transition row with
probability FOLLOW, otherwise draw from the customer's latent taste. Re-running the generator
with the same customers, seed, days and now (`data_gen.generate.generator.simulate`) gives every
person's true taste. For a test customer whose last training purchase is in category c and
who has bought the set S, the probability that the first purchase outside S is category j is
an absorption probability of that Markov chain: B = (I - Q)^-1 R, with Q the moves inside S
and R the moves from S to each new category.

Ranking the new categories by B is the best any recommender can do in expectation: it knows
what no model can see (the latent taste, the exact planted transitions). Its hit rate on the
evaluation's own test events is therefore an upper bound for the model, and it tells whether a
target such as "hit rate@3 25% above the best baseline" is reachable on this data at all.

Only test customers whose `customer_id` is a generated person's contact id are scored (the
few whose ids a defect changed, or that an identity conflict split, are left out); the model
and baselines are re-scored on the same customers, from `marts.next_best_category_backtest`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from c360.warehouse import Warehouse, query
from data_gen.generate import behaviour as gen_behaviour
from data_gen.generate.defects import DefectRates, resolve_rates
from data_gen.generate.generator import simulate

KS = (1, 3)


@dataclass(frozen=True)
class Latent:
    """Per generated contact id: the id and its person's true taste over gen_behaviour.CATEGORIES."""

    contact_id: np.ndarray  # str, (n,): people's ids, then their second ids (aliases)
    taste: np.ndarray  # (n, 7), rows sum to 1


def latent_state(
    customers: int, seed: int, days: int, now: datetime, rates: DefectRates | str = "default"
) -> Latent:
    """Re-draw the generated world and return every contact id with its person's taste (a person
    registered twice, defect `same_person_new_id`, has two ids with one taste)."""
    world = simulate(customers, seed, days, resolve_rates(rates), now)
    contacts = world.contacts
    ids = np.array([row.tobytes().decode() for row in contacts.id_mat])
    cumulative = world.cust.taste
    taste = np.diff(np.concatenate([np.zeros((len(cumulative), 1)), cumulative], axis=1), axis=1)
    person = np.arange(len(ids))  # id rows: the people's own ids, then one per alias
    aliased = np.flatnonzero(contacts.alias_of_person >= 0)
    person[contacts.alias_of_person[aliased]] = aliased
    return Latent(contact_id=ids, taste=taste[person])


def read_manifest(path: Path) -> dict | None:
    """The generator's `manifest.json` at `path` (data_gen.generate.generator), None when there is
    none or it is not the generator's."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("generator") != "data_gen.generate.generator":
        return None
    return manifest


def manifest_latent(manifest: dict) -> Latent:
    """The latent state behind the files a generator `manifest` describes (same customers, seed,
    days, now and defect rates, so the same contact ids)."""
    now = datetime.strptime(manifest["now"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    rates = DefectRates(**manifest["defect_rates"])
    return latent_state(int(manifest["customers"]), int(manifest["seed"]), int(manifest["days"]), now, rates)


def step_matrix(taste: np.ndarray) -> np.ndarray:
    """One purchase's category given the previous one: (7, 7) row-stochastic, as the generator draws."""
    repeat, follow = gen_behaviour.REPEAT, gen_behaviour.FOLLOW
    step = repeat * np.eye(7) + follow * gen_behaviour.transition_matrix()
    step += (1 - repeat - follow) * taste[None, :]
    return step / step.sum(axis=1, keepdims=True)


def first_new_category_odds(taste: np.ndarray, bought: np.ndarray, last: int) -> np.ndarray:
    """P(first purchase outside `bought` is category j) for each j (0 on bought categories).

    `bought` is a boolean (7,) mask that contains `last`, the category of the latest purchase.
    """
    step = step_matrix(taste)
    inside, outside = np.flatnonzero(bought), np.flatnonzero(~bought)
    odds = np.zeros(7)
    if not len(outside):
        return odds
    q = step[np.ix_(inside, inside)]
    r = step[np.ix_(inside, outside)]
    absorbed = np.linalg.solve(np.eye(len(inside)) - q, r)
    odds[outside] = absorbed[list(inside).index(last)]
    return odds


def read_inputs(warehouse: Warehouse, suffix: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The test events and the training purchases (before the cutoff, in time order) of a built
    warehouse; `suffix`: the schema suffix of a Postgres shadow build (`__next`)."""
    marts = f"marts{suffix}"
    events = query(warehouse, f"select customer_id, category from {marts}.next_best_category_holdout_events")
    training = query(
        warehouse,
        f"""
        select t.customer_id, t.category, t.transaction_at, t.transaction_id
        from {marts}.transactions as t
        cross join {marts}.next_best_category_cutoff as c
        where t.transaction_date < c.cutoff_date
        order by t.customer_id, t.transaction_at, t.transaction_id
        """,
    )
    return events, training


def _read(db_path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    warehouse = Warehouse("duckdb", duckdb_path=db_path)
    events, training = read_inputs(warehouse)
    backtest = query(
        warehouse, "select method, customer_id, rank, category from marts.next_best_category_backtest"
    )
    return events, training, backtest


def oracle_lists(latent: Latent, events: pd.DataFrame, training: pd.DataFrame) -> pd.DataFrame:
    """The oracle's ranked new categories per matched test customer (customer_id, rank, category,
    odds: the true probability that it is the first new category)."""
    index = {cid: i for i, cid in enumerate(latent.contact_id)}
    categories = list(gen_behaviour.CATEGORIES)
    by_customer = training.groupby("customer_id", sort=False)["category"].agg(list)
    rows = []
    for customer_id in events["customer_id"]:
        person = index.get(customer_id)
        history = by_customer.get(customer_id)
        if person is None or not history:
            continue
        bought = np.zeros(7, dtype=bool)
        bought[[categories.index(c) for c in history]] = True
        odds = first_new_category_odds(latent.taste[person], bought, categories.index(history[-1]))
        ranked = [j for j in np.argsort(-odds, kind="stable") if not bought[j]][: max(KS)]
        rows += [(customer_id, rank, categories[j], float(odds[j])) for rank, j in enumerate(ranked, start=1)]
    return pd.DataFrame(rows, columns=["customer_id", "rank", "category", "odds"])


def hit_rates(lists: pd.DataFrame, events: pd.DataFrame) -> dict[int, float]:
    """Share of `events` customers whose event category is in their top-k of `lists`."""
    merged = events.merge(lists, on=["customer_id", "category"], how="left")
    best = merged.groupby("customer_id")["rank"].min()
    return {k: float((best <= k).sum() / len(events)) for k in KS}


def compare(db_path: Path, latent: Latent) -> pd.DataFrame:
    """Oracle, model and baselines on the same matched test customers: one row per method and k."""
    events, training, backtest = _read(db_path)
    oracle = oracle_lists(latent, events, training)
    matched = events[events["customer_id"].isin(oracle["customer_id"])]
    rows = []
    methods = {"oracle": oracle} | {
        str(m): frame.drop(columns="method") for m, frame in backtest.groupby("method")
    }
    for method, lists in methods.items():
        for k, rate in hit_rates(lists, matched).items():
            rows.append(
                {
                    "method": method,
                    "k": k,
                    "hit_rate": rate,
                    "customers": len(matched),
                    "test_customers": len(events),
                }
            )
    return pd.DataFrame(rows)


def format_comparison(table: pd.DataFrame) -> str:
    """Markdown table with each method's lift over the best baseline at the same k."""
    lines = [
        "| method | k | hit rate | vs best baseline | customers scored (of test customers) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for k, group in table.groupby("k"):
        best = group[~group["method"].isin(["model", "lightgbm", "oracle"])]["hit_rate"].max()
        for row in group.sort_values("hit_rate", ascending=False).itertuples():
            lift = f"{row.hit_rate / best - 1:+.1%}" if row.method in ("model", "lightgbm", "oracle") else ""
            lines.append(
                f"| {row.method} | {k} | {row.hit_rate:.1%} | {lift} | "
                f"{row.customers:,} ({row.test_customers:,}) |"
            )
    return "\n".join(lines)
