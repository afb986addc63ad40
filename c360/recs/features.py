"""Features of the learned recommender: one row per (customer, untried category) at a date.

Everything here is computed from purchases dated before `as_of` only (the caller filters, and
`candidate_features` checks), so a model trained and scored with these features sees nothing
on or after `as_of`. Per candidate category Y of a customer c:

- transition odds P(Y | X) of switches X -> Y (consecutive purchases in different categories,
  smoothed) from the categories of c's last three purchases, and the recency-weighted mix over
  all of c's categories (the SQL model's score);
- adoption odds: how often a first purchase of Y followed a purchase of X;
- co-occurrence taste: P(Y bought | X bought) averaged over c's categories (weighted by c's
  purchase shares), a naive-Bayes log-odds sum, and the similarity of c's category shares to
  the average shares of Y's buyers;
- popularity of Y overall, in c's age band and c's state (shrunk towards the overall share);
- time since c's last purchase of each of the last three categories, recency and frequency of
  c's purchases, spend share of the last category, tenure, the number of untried categories;
- the candidate and last category themselves (LightGBM categorical features).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

SMOOTHING = 5.0  # pseudo-switches towards the prior, as the SQL model (recs_affinity_smoothing)
DECAY = 0.7  # recency weight per purchase, as the SQL model (recs_recency_decay)
COHORT_PRIOR = 20.0  # pseudo-customers towards the overall share (as the cohort baseline)
LAST_N = 3
FEATURES = (
    "candidate",
    "last_category",
    "trans_last1",
    "trans_last2",
    "trans_last3",
    "adopt_last1",
    "adopt_mix",
    "trans_mix",
    "cooc_mix",
    "cooc_log_odds",
    "taste_similarity",
    "popularity",
    "age_band_popularity",
    "state_popularity",
    "days_since_last1",
    "days_since_last2",
    "days_since_last3",
    "days_since_last_purchase",
    "purchase_count",
    "category_count",
    "untried_count",
    "tenure_days",
    "last_category_spend_share",
)
CATEGORICAL = ("candidate", "last_category")


def _matrix(pairs: pd.DataFrame, categories: list[str]) -> np.ndarray:
    """Counts of (from, to) pairs as a square matrix over `categories`."""
    counts = pairs.groupby(["from", "to"]).size().unstack(fill_value=0)
    return counts.reindex(index=categories, columns=categories, fill_value=0).to_numpy(dtype=float)


def _smoothed_odds(counts: np.ndarray) -> np.ndarray:
    """P(Y | X) = (n(X,Y) + a * prior(Y | X)) / (n(X,.) + a), prior = Y's share of all
    moves into categories other than X; the diagonal is 0."""
    counts = counts.copy()
    np.fill_diagonal(counts, 0.0)
    into = counts.sum(axis=0)
    prior = np.tile(into, (len(into), 1))
    np.fill_diagonal(prior, 0.0)
    prior = prior / np.maximum(prior.sum(axis=1, keepdims=True), 1e-12)
    odds = (counts + SMOOTHING * prior) / (counts.sum(axis=1, keepdims=True) + SMOOTHING)
    np.fill_diagonal(odds, 0.0)
    return odds


def _shrunk_share(
    buyers: pd.DataFrame, group: str, categories: list[str], overall: np.ndarray
) -> pd.DataFrame:
    """Share of the group's buyers who bought each category, shrunk towards `overall`."""
    size = buyers.groupby(group)["customer_id"].nunique()
    counts = buyers.groupby([group, "category"])["customer_id"].nunique().unstack(fill_value=0)
    counts = counts.reindex(columns=categories, fill_value=0)
    shares = (counts.to_numpy() + COHORT_PRIOR * overall) / (
        size.reindex(counts.index).to_numpy()[:, None] + COHORT_PRIOR
    )
    return pd.DataFrame(shares, index=counts.index, columns=categories)


def candidate_features(
    purchases: pd.DataFrame, customers: pd.DataFrame, categories: list[str], as_of: date
) -> pd.DataFrame:
    """Features per (customer_id, candidate) for every customer with a purchase before `as_of`
    and every category in `categories` they have not bought.

    purchases: customer_id, transaction_id, transaction_at, transaction_date, category, amount
    (recommendable categories only); customers: customer_id, age_band, state."""
    tx = purchases[pd.to_datetime(purchases["transaction_date"]) < pd.Timestamp(as_of)]
    tx = tx[tx["category"].isin(categories)].sort_values(["customer_id", "transaction_at", "transaction_id"])
    if tx.empty:
        return pd.DataFrame(columns=["customer_id", *FEATURES])
    index = {name: i for i, name in enumerate(categories)}
    n_cat = len(categories)
    cat = tx["category"].map(index).to_numpy()
    cust = tx["customer_id"].to_numpy()
    same_customer = np.r_[False, cust[1:] == cust[:-1]]
    prev = np.r_[-1, cat[:-1]]
    switch = same_customer & (prev != cat)
    trans = _smoothed_odds(
        _matrix(pd.DataFrame({"from": prev[switch], "to": cat[switch]}), list(range(n_cat)))
    )
    first_time = ~tx.duplicated(["customer_id", "category"]).to_numpy()
    adoption = same_customer & first_time
    adopt = _smoothed_odds(
        _matrix(pd.DataFrame({"from": prev[adoption], "to": cat[adoption]}), list(range(n_cat)))
    )

    customer_ids = pd.Index(pd.unique(cust))
    row = customer_ids.get_indexer(cust)
    n_cust = len(customer_ids)
    recency = tx.groupby("customer_id", sort=False).cumcount(ascending=False).to_numpy()  # 0 = latest
    weights = np.zeros((n_cust, n_cat))
    np.add.at(weights, (row, cat), DECAY**recency)
    counts = np.zeros((n_cust, n_cat))
    np.add.at(counts, (row, cat), 1.0)
    spend = np.zeros((n_cust, n_cat))
    np.add.at(spend, (row, cat), pd.to_numeric(tx["amount"]).to_numpy(dtype=float))
    bought = counts > 0
    shares = counts / counts.sum(axis=1, keepdims=True)
    mix_weights = weights / weights.sum(axis=1, keepdims=True)

    buyers_per_cat = bought.sum(axis=0)
    co = bought.T.astype(float) @ bought.astype(float)
    cooc = co / np.maximum(np.diag(co)[:, None], 1.0)  # P(Y bought | X bought)
    popularity = buyers_per_cat / n_cust
    log_odds = np.log((cooc + 1e-3) / (popularity[None, :] + 1e-3))
    np.fill_diagonal(log_odds, 0.0)
    profile = np.zeros((n_cat, n_cat))
    for y in range(n_cat):
        own = shares[bought[:, y]].copy()
        own[:, y] = 0.0
        own = own / np.maximum(own.sum(axis=1, keepdims=True), 1e-12)
        profile[y] = own.mean(axis=0) if len(own) else 0.0

    times = pd.to_datetime(tx["transaction_at"]).to_numpy()
    as_of_ts = np.datetime64(pd.Timestamp(as_of))
    last_at = np.full((n_cust, n_cat), np.datetime64("NaT"), dtype="datetime64[ns]")
    grouped = pd.DataFrame({"row": row, "cat": cat, "at": times}).groupby(["row", "cat"])["at"].max()
    last_at[grouped.index.get_level_values(0), grouped.index.get_level_values(1)] = grouped.to_numpy()
    days_since_cat = (as_of_ts - last_at) / np.timedelta64(1, "D")

    tail = tx.groupby("customer_id", sort=False).tail(LAST_N)
    tail_rank = tail.groupby("customer_id", sort=False).cumcount(ascending=False).to_numpy()  # 0 = latest
    last = np.full((n_cust, LAST_N), -1)
    last[customer_ids.get_indexer(tail["customer_id"]), tail_rank] = tail["category"].map(index).to_numpy()
    first_at = pd.Series(times).groupby(row).min().to_numpy()
    latest_at = pd.Series(times).groupby(row).max().to_numpy()

    info = customers.set_index("customer_id").reindex(customer_ids)
    buyers = pd.DataFrame({"customer_id": cust, "category": tx["category"].to_numpy()}).drop_duplicates()
    buyers = buyers.merge(customers[["customer_id", "age_band", "state"]], on="customer_id", how="left")
    buyers[["age_band", "state"]] = buyers[["age_band", "state"]].fillna("unknown")
    band = _shrunk_share(buyers, "age_band", categories, popularity)
    state = _shrunk_share(buyers, "state", categories, popularity)
    band_rows = band.reindex(info["age_band"].fillna("unknown")).fillna(0).to_numpy()
    state_rows = state.reindex(info["state"].fillna("unknown")).fillna(0).to_numpy()

    cust_idx, cand = np.nonzero(~bought)

    def at_last(matrix: np.ndarray, j: int) -> np.ndarray:
        source = last[cust_idx, j]
        return np.where(source >= 0, matrix[np.maximum(source, 0), cand], np.nan)

    last_spend = spend.sum(axis=1)
    frame = pd.DataFrame(
        {
            "customer_id": customer_ids[cust_idx],
            "candidate": pd.Categorical.from_codes(cand, categories),
            "last_category": pd.Categorical.from_codes(last[cust_idx, 0], categories),
            "trans_last1": at_last(trans, 0),
            "trans_last2": at_last(trans, 1),
            "trans_last3": at_last(trans, 2),
            "adopt_last1": at_last(adopt, 0),
            "adopt_mix": (mix_weights @ adopt)[cust_idx, cand],
            "trans_mix": (mix_weights @ trans)[cust_idx, cand],
            "cooc_mix": (shares @ cooc)[cust_idx, cand],
            "cooc_log_odds": (bought.astype(float) @ log_odds)[cust_idx, cand],
            "taste_similarity": (shares @ profile.T)[cust_idx, cand],
            "popularity": popularity[cand],
            "age_band_popularity": band_rows[cust_idx, cand],
            "state_popularity": state_rows[cust_idx, cand],
            "days_since_last1": days_since_cat[cust_idx, np.maximum(last[cust_idx, 0], 0)],
            "days_since_last2": np.where(
                last[cust_idx, 1] >= 0, days_since_cat[cust_idx, np.maximum(last[cust_idx, 1], 0)], np.nan
            ),
            "days_since_last3": np.where(
                last[cust_idx, 2] >= 0, days_since_cat[cust_idx, np.maximum(last[cust_idx, 2], 0)], np.nan
            ),
            "days_since_last_purchase": ((as_of_ts - latest_at) / np.timedelta64(1, "D"))[cust_idx],
            "purchase_count": counts.sum(axis=1)[cust_idx],
            "category_count": bought.sum(axis=1)[cust_idx],
            "untried_count": (~bought).sum(axis=1)[cust_idx],
            "tenure_days": ((as_of_ts - first_at) / np.timedelta64(1, "D"))[cust_idx],
            "last_category_spend_share": spend[cust_idx, np.maximum(last[cust_idx, 0], 0)]
            / np.maximum(last_spend[cust_idx], 1e-12),
        }
    )
    return frame.sort_values(["customer_id", "candidate"], kind="stable").reset_index(drop=True)


def new_category_events(
    purchases: pd.DataFrame, categories: list[str], start: date, end: date
) -> pd.DataFrame:
    """First purchase of each customer dated in [start, end) in a category they had not bought
    before `start` (customers with a purchase before `start` only), as recs_new_category_events:
    customer_id, category."""
    tx = purchases[purchases["category"].isin(categories)]
    day = pd.to_datetime(tx["transaction_date"])
    before = tx[day < pd.Timestamp(start)]
    window = tx[(day >= pd.Timestamp(start)) & (day < pd.Timestamp(end))]
    window = window[window["customer_id"].isin(before["customer_id"].unique())]
    seen = pd.MultiIndex.from_frame(before[["customer_id", "category"]].drop_duplicates())
    new = window[~pd.MultiIndex.from_frame(window[["customer_id", "category"]]).isin(seen)]
    new = new.sort_values(["customer_id", "transaction_at", "transaction_id"])
    return new.groupby("customer_id", sort=False).head(1)[["customer_id", "category"]].reset_index(drop=True)
