"""A small warehouse in the shape of docs/CONTRACT.md for the app's tests (no tests here).

`demo_frames()` makes deterministic marts/quality tables with pandas; `tests/app_store.py`
stores them and writes the dbt artifacts. The app only reads the contract's
tables, so these tests do not depend on the dbt build; the numbers the tests expect are
recomputed from the stored tables with independent SQL/pandas.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

ANCHOR = dt.date(2024, 6, 30)
LOADED_AT = pd.Timestamp("2024-07-01 01:00:00")
CATEGORIES = (
    ("Apps & Games", "apps_and_games"),
    ("Beauty", "beauty"),
    ("Books", "books"),
    ("Clothing, Shoes & Accessories", "clothing_shoes_and_accessories"),
    ("Movies & TV", "movies_and_tv"),
    ("Sports, Fitness & Outdoors", "sports_fitness_and_outdoors"),
    ("Kitchen", "kitchen"),
)
SEGMENTS = (
    ("Champions", "Bought recently, buy often and spend the most.", "Reward them; early access."),
    ("Loyal", "Buy regularly with good spend.", "Upsell higher-value categories."),
    ("At Risk", "Spent well but not recently.", "Win them back with a personal offer."),
    ("Hibernating", "Low spend, long ago.", "Reactivation campaign."),
    ("Prospect", "No purchase yet.", "Convert with a first-order offer."),
)
FIRST = ("Mary", "Lisa", "John", "Adeep", "Katherine", "Paul", "Zoe", "Omar", "Wei", "Ana")
LAST = ("Davis", "Brown", "Rego", "Smith", "Nguyen", "Lee", "O'Neil", "Garcia")
STATES = ("NSW", "VIC", "QLD", "WA", "SA", "TAS", "NT", "ACT")
BANDS = (
    (18, "under 18"),
    (25, "18-24"),
    (35, "25-34"),
    (45, "35-44"),
    (55, "45-54"),
    (65, "55-64"),
    (200, "65+"),
)
REC_TABLES = ("next_best_category", "category_affinity", "next_best_category_evaluation")


def _age_band(age: float) -> str:
    if pd.isna(age):
        return "unknown"
    return next(band for limit, band in BANDS if age < limit)


def demo_frames(customers: int = 400, seed: int = 7, with_recs: bool = True) -> dict[str, pd.DataFrame]:
    """Deterministic `schema.table` -> frame in the contract's shape."""
    rng = np.random.default_rng(seed)
    ids = [
        f"{rng.integers(16**8):08x}-{i:04d}-4abc-8def-{rng.integers(16**12):012x}" for i in range(customers)
    ]
    ids[1] = ids[0] + "~2"  # an identity conflict: two records of one contact id
    ids[0] = ids[0] + "~1"
    first = rng.choice(FIRST, customers)
    last = rng.choice(LAST, customers)
    birth = [ANCHOR - dt.timedelta(days=int(d)) for d in rng.integers(18 * 366, 80 * 365, customers)]
    birth[2] = None
    state = rng.choice(STATES, customers)
    people = pd.DataFrame(
        {
            "customer_id": ids,
            "contact_id": [i.split("~")[0] for i in ids],
            "username": [f"{f.lower()}{n}" for f, n in zip(first, range(customers), strict=True)],
            "full_name": [f"{f} {la}" for f, la in zip(first, last, strict=True)],
            "gender": rng.choice(["F", "M", "X"], customers),
            "email": [f"{f.lower()}.{n}@example.com" for f, n in zip(first, range(customers), strict=True)],
            "address": [
                f"{n} Some Street, Town, {s}, 2000" for n, s in zip(range(customers), state, strict=True)
            ],
            "state": state,
            "postcode": "2000",
            "birth_date": birth,
        }
    )
    people["age"] = [None if b is None else (ANCHOR - b).days // 365 for b in birth]
    people["age_band"] = people["age"].map(_age_band)
    people["has_identity_conflict"] = people["customer_id"].str.contains("~")

    counts = rng.poisson(3.0, customers)
    counts[::9] = 0  # prospects
    owner = np.repeat(np.arange(customers), counts)
    n = len(owner)
    cat_idx = rng.integers(0, len(CATEGORIES), n)
    at = (
        pd.Timestamp(ANCHOR)
        + pd.Timedelta(hours=20)
        - pd.to_timedelta(rng.integers(0, 700 * 86400, n), unit="s")
    )
    ids = [f"t{rng.integers(16**10):010x}{i:06d}" for i in range(n)]
    tx = pd.DataFrame(
        {
            "transaction_id": ids,
            "order_id": ids,  # one line per order, as in the exercise
            "customer_id": people["customer_id"].to_numpy()[owner],
            "transaction_at": at,
            "transaction_date": at.normalize(),
            "amount": np.round(rng.uniform(3, 250, n), 2),
            "item_count": rng.integers(1, 6, n),
            "category": [CATEGORIES[i][0] for i in cat_idx],
            "category_slug": [CATEGORIES[i][1] for i in cat_idx],
            "loaded_at": LOADED_AT,
        }
    )
    agg = tx.groupby("customer_id").agg(
        first_purchase_date=("transaction_date", "min"),
        last_purchase_date=("transaction_date", "max"),
        order_count=("transaction_id", "count"),
        items_purchased=("item_count", "sum"),
        total_spend=("amount", "sum"),
    )
    spend = tx.pivot_table(index="customer_id", columns="category_slug", values="amount", aggfunc="sum")
    cust = people.merge(agg, left_on="customer_id", right_index=True, how="left")
    cust[["order_count", "items_purchased", "total_spend"]] = cust[
        ["order_count", "items_purchased", "total_spend"]
    ].fillna(0)
    cust["order_count"] = cust["order_count"].astype("int64")
    cust["items_purchased"] = cust["items_purchased"].astype("int64")
    cust["average_order_value"] = (cust["total_spend"] / cust["order_count"]).where(cust["order_count"] > 0)
    cust["days_since_last_purchase"] = (pd.Timestamp(ANCHOR) - cust["last_purchase_date"]).dt.days
    for _, slug in CATEGORIES:
        cust[f"{slug}_amount"] = cust["customer_id"].map(spend.get(slug, pd.Series(dtype=float))).fillna(0.0)
    buyer = cust["order_count"] > 0
    recency = pd.cut(cust["days_since_last_purchase"], [-1, 30, 90, 180, 365, 10**6], labels=[5, 4, 3, 2, 1])
    cust["recency_score"] = recency.astype("float").where(buyer)
    cust["frequency_score"] = cust["order_count"].clip(1, 5).astype(float).where(buyer)
    cust["monetary_score"] = (
        pd.cut(cust["total_spend"], [-1, 100, 250, 500, 800, 10**9], labels=[1, 2, 3, 4, 5])
        .astype(float)
        .where(buyer)
    )
    cust["rfm_segment"] = np.select(
        [
            ~buyer,
            (cust["recency_score"] >= 4) & (cust["monetary_score"] >= 4),
            cust["recency_score"] >= 3,
            cust["monetary_score"] >= 3,
        ],
        ["Prospect", "Champions", "Loyal", "At Risk"],
        "Hibernating",
    )
    cust["acquisition_month"] = cust["first_purchase_date"].dt.to_period("M").dt.to_timestamp()
    cust["loaded_at"] = LOADED_AT
    # identity resolution (docs/identity.md): every demo customer is one source record
    cust["source_contact_ids"] = cust["contact_id"]
    cust["source_record_count"] = 1
    cust["match_confidence"] = np.nan
    ccs = tx.groupby(["customer_id", "category", "category_slug"], as_index=False).agg(
        amount=("amount", "sum"),
        order_count=("transaction_id", "count"),
        items_purchased=("item_count", "sum"),
        first_purchase_at=("transaction_at", "min"),
        last_purchase_at=("transaction_at", "max"),
    )
    frames: dict[str, pd.DataFrame] = {
        "marts.customers": cust,
        "marts.transactions": tx,
        "marts.customer_category_spend": ccs,
        "marts.product_categories": pd.DataFrame(
            [(c, s, i + 1) for i, (c, s) in enumerate(CATEGORIES)],
            columns=["category_name", "category_slug", "sort_order"],
        ),
        "marts.rfm_segments": pd.DataFrame(
            [(*row, i + 1) for i, row in enumerate(SEGMENTS)],
            columns=["rfm_segment", "description", "recommended_action", "sort_order"],
        ),
        **_quality_frames(cust),
    }
    if with_recs:
        frames.update(_rec_frames(cust, rng))
    return frames


def _quality_frames(cust: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Quarantine, identity conflicts, an orphan near-match of customer 3, conservation, a stored failure."""
    conflicts = cust[cust["has_identity_conflict"]]
    target = cust.iloc[3]
    return {
        "quality.quarantined_contacts": pd.DataFrame(
            {
                "id": ["", "bad-id"],
                "username": ["x", "y"],
                "name": ["No Id", "Bad Date"],
                "gender": ["F", "M"],
                "address": ["", ""],
                "mail": ["a@b.c", "d@e.f"],
                "birthdate": ["1990-01-01", "1990-13-45"],
                "_loaded_at_utc": ["", ""],
                "_source_file": "contacts.csv",
                "_source_row_number": [4, 9],
                "reason": ["missing_id", "bad_birthdate"],
            }
        ),
        "quality.quarantined_transactions": pd.DataFrame(
            {
                "contact_id": [target["contact_id"][:-1] + "0", "c"],
                "id": ["orph-1", "neg-1"],
                "transaction_date": ["2024-06-01 10:00:00.000"] * 2,
                "amount": ["12.5", "-3"],
                "item_count": ["1", "1"],
                "category": ["Books", "Books"],
                "_loaded_at_utc": ["", ""],
                "_source_file": "transactions.csv",
                "_source_row_number": [17, 18],
                "reason": ["orphan_contact", "negative_amount"],
            }
        ),
        "quality.identity_conflicts": pd.DataFrame(
            {
                "contact_id": conflicts["contact_id"],
                "customer_id": conflicts["customer_id"],
                "username": conflicts["username"],
                "full_name": conflicts["full_name"],
                "email": conflicts["email"],
                "_source_row_number": [1, 2],
            }
        ),
        "quality.orphan_transaction_candidates": pd.DataFrame(
            {
                "transaction_id": ["orph-1"],
                "contact_id": [target["contact_id"][:-1] + "0"],
                "candidate_customer_id": [target["customer_id"]],
                "edit_distance": [1],
            }
        ),
        "quality.identity_matches": pd.DataFrame(
            {
                "contact_id_l": pd.Series(dtype="string"),
                "contact_id_r": pd.Series(dtype="string"),
                "match_weight": pd.Series(dtype="float64"),
                "match_probability": pd.Series(dtype="float64"),
                "is_match": pd.Series(dtype="bool"),
                "matched_by": pd.Series(dtype="string"),
                "agreeing_fields": pd.Series(dtype="string"),
                **{
                    f"{f}_level": pd.Series(dtype="int64")
                    for f in ("first_name", "surname", "email", "birth_date", "address", "gender")
                },
            }
        ),
        "quality.row_conservation": pd.DataFrame(
            {
                "source": ["contacts", "transactions"],
                "raw_rows": [len(cust) + 2, 1000],
                "clean_rows": [len(cust), 998],
                "quarantined_rows": [2, 2],
                "collapsed_duplicate_rows": [0, 0],
                "is_balanced": [True, True],
            }
        ),
        "quality.accepted_values_customers_gender": pd.DataFrame({"value_field": ["X"], "n_records": [7]}),
    }


def _rec_frames(cust: pd.DataFrame, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    names = [c for c, _ in CATEGORIES]
    rows = [
        (cid, rank, names[(i + rank) % len(names)], round(1.0 / rank, 3), f"Bought {names[i % len(names)]}")
        for i, cid in enumerate(cust["customer_id"])
        for rank in (1, 2, 3)
    ]
    return {
        "marts.next_best_category": pd.DataFrame(
            rows, columns=["customer_id", "rank", "category", "score", "reason"]
        ),
        "marts.category_affinity": pd.DataFrame(
            [(a, b, float(np.round(rng.uniform(), 3))) for a in names for b in names if a != b],
            columns=["from_category", "to_category", "score"],
        ),
        # the model wins at k = 3 and on validation (so it is served) but loses at k = 1
        "marts.next_best_category_evaluation": pd.DataFrame(
            {
                "method": ["model", "cohort", "popularity", "served"] * 2,
                "k": [1] * 4 + [3] * 4,
                "hit_rate": [0.21, 0.19, 0.24, 0.21, 0.62, 0.48, 0.43, 0.62],
                "ndcg": [0.21, 0.19, 0.24, 0.21, 0.44, 0.35, 0.33, 0.44],
                "coverage": [1.0] * 8,
                "customers_evaluated": [300] * 8,
                "validation_hit_rate": [0.25, 0.2, 0.22, 0.25, 0.6, 0.5, 0.45, 0.6],
                "validation_ndcg": [0.25, 0.2, 0.22, 0.25, 0.45, 0.37, 0.34, 0.45],
                "served_method": ["model"] * 8,
                "validation_cutoff_date": [pd.Timestamp("2024-08-01")] * 8,
                "cutoff_date": [pd.Timestamp("2024-10-19")] * 8,
            }
        ),
    }


def empty_frames() -> dict[str, pd.DataFrame]:
    """The same tables with no rows (seeds kept), as after a build on empty sources."""
    frames = demo_frames(customers=20, with_recs=False)
    keep = ("marts.product_categories", "marts.rfm_segments")
    return {name: (frame if name in keep else frame.iloc[0:0]) for name, frame in frames.items()}
