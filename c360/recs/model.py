"""The learned recommender: LightGBM lambdarank over `c360.recs.features`, scores written back.

For each scope it trains on an earlier window of the same length and scores at the scope's end:

- validation: scores at `validation_cutoff_date`, trained on purchases before it only;
- test: scores at `cutoff_date` (the backtest), trained on purchases before it only;
- production: scores at the day after the last purchase, trained on everything.

Training for a scope ending at T with window W (= cutoff_date - validation_cutoff_date): the
features at T - j*W (purchases before it) are labelled with the first new-category purchase in
[T - j*W, T - (j-1)*W), for j = 1..SNAPSHOTS; so nothing dated on or after T is read. The scores
go to `recs_model.lightgbm_scores` (scope, train_end_date, customer_id, category, score), which
makes `lightgbm` a candidate method of the dbt recommender (recs_methods); the validation
window then decides whether it is served.

    python -m c360.recs.model            # on the configured warehouse, then rebuild the recommender
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import date, timedelta

import lightgbm as lgb
import numpy as np
import pandas as pd

from c360 import config
from c360.dbt_runner import run_dbt
from c360.recs.features import CATEGORICAL, FEATURES, candidate_features, new_category_events
from c360.warehouse import Warehouse, query

SCORES_SCHEMA = "recs_model"
SCORES_TABLE = "lightgbm_scores"
SNAPSHOTS = 2
SEED = 20
MIN_TRAINING_CUSTOMERS = 100  # fewer labelled customers in a scope: no learned method at all
ROUNDS = 200
PARAMS = {
    "objective": "lambdarank",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "lambdarank_truncation_level": 4,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
    "verbose": -1,
}
# {marts}: `marts`, or `marts__next` in a Postgres shadow build (c360/publish.py)
PURCHASES_SQL = (
    "select customer_id, transaction_id, transaction_at, transaction_date, category, amount"
    " from {marts}.transactions"
)
CUSTOMERS_SQL = "select customer_id, age_band, state from {marts}.customers"
CATEGORIES_SQL = "select category_name from {marts}.product_categories order by sort_order"
CUTOFF_SQL = "select cutoff_date, validation_cutoff_date from {marts}.next_best_category_cutoff"
SCORES_COLUMNS = {
    "scope": "text", "train_end_date": "date", "customer_id": "text", "category": "text",
    "score": "double precision",
}  # fmt: skip
REBUILD_SELECTION = ["stg_recs_model__lightgbm_scores+", "stg_recs_model__oracle_lists+"]


@dataclass(frozen=True)
class Data:
    """What the model reads: purchases (recommendable categories only), customers, categories."""

    purchases: pd.DataFrame
    customers: pd.DataFrame
    categories: list[str]


def training_set(data: Data, end: date, window: timedelta, snapshots: int = SNAPSHOTS) -> pd.DataFrame:
    """Labelled candidate features from `snapshots` windows of length `window` before `end`
    (label 1 = the customer's first new category in the window after the snapshot date)."""
    frames = []
    for j in range(1, snapshots + 1):
        start = end - j * window
        stop = end - (j - 1) * window
        features = candidate_features(data.purchases, data.customers, data.categories, start)
        events = new_category_events(data.purchases, data.categories, start, stop)
        labelled = features.merge(events.rename(columns={"category": "event"}), on="customer_id", how="inner")
        labelled["label"] = (labelled["candidate"].astype(str) == labelled["event"]).astype(int)
        labelled["snapshot"] = j
        frames.append(labelled.drop(columns="event"))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if frame.empty:
        return frame
    return frame.sort_values(["snapshot", "customer_id", "candidate"], kind="stable").reset_index(drop=True)


def shuffle_labels(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The control: each customer's positive label moved to a random one of their candidates."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    group = out.groupby(["snapshot", "customer_id"], sort=False).ngroup().to_numpy()
    sizes = np.bincount(group)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    out["label"] = 0
    pick = starts + (rng.random(len(sizes)) * sizes).astype(int)
    out.loc[out.index[pick], "label"] = 1
    return out


def _matrix(frame: pd.DataFrame) -> pd.DataFrame:
    x = frame[list(FEATURES)].copy()
    for name in CATEGORICAL:
        x[name] = x[name].astype("category")
    return x


def train(frame: pd.DataFrame, seed: int = SEED) -> lgb.Booster:
    """LightGBM lambdarank on `training_set` rows (groups = customer and snapshot)."""
    sizes = frame.groupby(["snapshot", "customer_id"], sort=False).size().to_numpy()
    dataset = lgb.Dataset(
        _matrix(frame),
        label=frame["label"],
        group=sizes,
        categorical_feature=list(CATEGORICAL),
        free_raw_data=False,
    )
    return lgb.train({**PARAMS, "seed": seed}, dataset, num_boost_round=ROUNDS)


def score(model: lgb.Booster, features: pd.DataFrame) -> pd.DataFrame:
    """customer_id, category, score: the ranker's output as a softmax over each customer's
    candidates (same order, positive, so new categories rank above the unscored re-buy group
    at 0), rounded to 6 decimals so ranking ties are stable."""
    values = model.predict(_matrix(features)) if len(features) else np.array([])
    out = pd.DataFrame(
        {
            "customer_id": features["customer_id"].to_numpy(),
            "category": features["candidate"].astype(str).to_numpy(),
            "raw": values,
        }
    )
    out["raw"] = np.exp(out["raw"] - out.groupby("customer_id")["raw"].transform("max"))
    out["score"] = np.round(out["raw"] / out.groupby("customer_id")["raw"].transform("sum"), 6)
    return out.drop(columns="raw")


def scope_scores(data: Data, end: date, window: timedelta, shuffle_seed: int | None = None) -> pd.DataFrame:
    """Train on windows before `end` and score every customer's untried categories at `end`."""
    frame = training_set(data, end, window)
    if shuffle_seed is not None:
        frame = shuffle_labels(frame, shuffle_seed)
    model = train(frame)
    return score(model, candidate_features(data.purchases, data.customers, data.categories, end))


def read_data(wh: Warehouse, excluded: list[str] | None = None, suffix: str = "") -> tuple[Data, date, date]:
    """The model's input from a built warehouse, and (validation_cutoff_date, cutoff_date);
    `suffix`: the schema suffix of a Postgres shadow build (`__next`)."""
    marts = f"marts{suffix}"
    skip = set(excluded or [])
    categories = [c for c in query(wh, CATEGORIES_SQL.format(marts=marts))["category_name"] if c not in skip]
    purchases = query(wh, PURCHASES_SQL.format(marts=marts))
    purchases = purchases[purchases["category"].isin(categories)]
    cutoff = query(wh, CUTOFF_SQL.format(marts=marts)).iloc[0]
    return (
        Data(purchases, query(wh, CUSTOMERS_SQL.format(marts=marts)), categories),
        pd.Timestamp(cutoff["validation_cutoff_date"]).date(),
        pd.Timestamp(cutoff["cutoff_date"]).date(),
    )


def all_scores(data: Data, validation_cutoff: date, cutoff: date) -> pd.DataFrame | None:
    """The three scopes' scores in the layout of recs_model.lightgbm_scores; None when a scope
    has fewer than MIN_TRAINING_CUSTOMERS labelled customers (too little to learn from)."""
    window = cutoff - validation_cutoff
    last = pd.to_datetime(data.purchases["transaction_date"]).max().date() + timedelta(days=1)
    frames = []
    for scope, end in (("validation", validation_cutoff), ("test", cutoff), ("production", last)):
        frame = training_set(data, end, window)
        if frame.empty or frame["customer_id"].nunique() < MIN_TRAINING_CUSTOMERS:
            return None
        scores = score(train(frame), candidate_features(data.purchases, data.customers, data.categories, end))
        frames.append(scores.assign(scope=scope, train_end_date=end))
    return pd.concat(frames, ignore_index=True)[
        ["scope", "train_end_date", "customer_id", "category", "score"]
    ]


def write_table(
    wh: Warehouse, table: str, frame: pd.DataFrame, columns: dict[str, str], suffix: str = ""
) -> None:
    """Replace `recs_model<suffix>.<table>` with `frame` (its `columns`: name -> SQL type), in the
    DuckDB file or the Postgres database of `wh`."""
    schema = f"{SCORES_SCHEMA}{suffix}"
    frame = frame[list(columns)]
    if wh.engine == "duckdb":
        import duckdb

        con = duckdb.connect(str(wh.duckdb_path))
        try:
            con.register("step_frame", frame)
            con.execute(f"create schema if not exists {schema}")
            casts = ", ".join(f"cast({name} as {kind}) as {name}" for name, kind in columns.items())
            con.execute(f"create or replace table {schema}.{table} as select {casts} from step_frame")
            con.execute("checkpoint")
        finally:
            con.close()
        return
    import io

    import psycopg2

    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    with psycopg2.connect((wh.pg or config.pg_settings()).dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"create schema if not exists {schema}")
        cur.execute(f"drop table if exists {schema}.{table}")
        cur.execute(f"create table {schema}.{table} ({', '.join(f'{n} {k}' for n, k in columns.items())})")
        cur.copy_expert(f"copy {schema}.{table} from stdin with csv", buffer)


def write_scores(wh: Warehouse, scores: pd.DataFrame, suffix: str = "") -> None:
    """Replace recs_model.lightgbm_scores with `scores` (DuckDB file or Postgres database)."""
    write_table(wh, SCORES_TABLE, scores, SCORES_COLUMNS, suffix)


def refresh(
    wh: Warehouse, excluded: list[str] | None = None, dbt_args: list[str] | None = None, **run_kwargs: object
) -> None:
    """Train, write the scores, and rebuild the staging view and the recommender models."""
    data, validation_cutoff, cutoff = read_data(wh, excluded)
    scores = all_scores(data, validation_cutoff, cutoff)
    if scores is None:
        print("c360.recs.model: too little data to train; no lightgbm method", file=sys.stderr)
        return
    write_scores(wh, scores)
    run_dbt(
        ["build", "--select", *REBUILD_SELECTION, *(dbt_args or [])],
        target=wh.engine,
        **run_kwargs,
    )


def main(argv: list[str] | None = None) -> int:
    """CLI: refresh the learned scores of the configured warehouse."""
    parser = argparse.ArgumentParser(prog="python -m c360.recs.model", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    refresh(Warehouse.from_env().require())
    return 0


if __name__ == "__main__":
    sys.exit(main())
