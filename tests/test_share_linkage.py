"""Act as the partner: link the delivered files back to the warehouse and count who is singled out.

The partner is assumed to know every warehouse value of every customer (marts.customers) and to
know how the share generalises (docs/pii_sharing.md), but not which level was applied to a row.
A delivered row links to a customer when every released value is one the customer's values can
produce ('*' matches anyone). Everything is recomputed in pandas from the exported CSV and the
marts, independently of the dbt macros and of the dbt k-anonymity test.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from share_delivery import (
    BANDED,
    RELEASED,
    SALT_A,
    Delivery,
    K,
    admissible_values,
    band_names,
    candidate_matrix,
    deliver,
    mart_bands,
    partner_key,
)


@pytest.fixture(
    scope="module",
    params=["duckdb_warehouse_generated", pytest.param("pg_warehouse_generated", marks=pytest.mark.postgres)],
)
def delivery(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivery]:
    """One delivery of the generated demo data per engine."""
    warehouse = request.getfixturevalue(request.param)
    yield deliver(warehouse, tmp_path_factory.mktemp(f"linkage_{request.param}"))


def delivered(delivery: Delivery) -> pd.DataFrame:
    """partner_customers as the partner receives it (the exported CSV, every value as text)."""
    return pd.read_csv(delivery.out_dir / "partner_customers.csv", dtype=str, keep_default_na=False)


def customers(delivery: Delivery) -> pd.DataFrame:
    """marts.customers with the partner key recomputed (what a partner who knows everyone holds)."""
    frame = delivery.warehouse.query("select * from marts.customers order by customer_id")
    frame["partner_key"] = frame["customer_id"].map(lambda cid: partner_key(SALT_A, cid))
    return frame.reset_index(drop=True)


def test_released_columns_are_all_generalised(delivery: Delivery) -> None:
    share = delivered(delivery)
    assert list(share.columns) == ["partner_key", *[c for c in share.columns if c != "partner_key"]]
    assert sorted(c for c in share.columns if c != "partner_key") == sorted(RELEASED)
    # no exact date, amount or count: months are 'YYYY-MM' or coarser, bands are labels
    for column in ("last_purchase_month", "acquisition_month"):
        assert share[column].str.fullmatch(r"\d{4}-\d{2}|\d{4}|\*|unknown").all(), column
    for column in BANDED:
        assert not pd.to_numeric(share[column], errors="coerce").notna().any(), column
    # the share still says something: most released values are not suppressed
    values = share.drop(columns=["partner_key"]).to_numpy().ravel()
    assert (values != "*").mean() > 0.7


def test_every_delivered_row_links_to_at_least_k_customers(delivery: Delivery) -> None:
    share, mart = delivered(delivery), customers(delivery)
    matches = candidate_matrix(share, admissible_values(mart))
    counts = matches.sum(axis=1)
    # each row is truthful: its own customer is among its matches
    own = mart.reset_index().set_index("partner_key").loc[share["partner_key"], "index"].to_numpy()
    assert matches[np.arange(len(share)), own].all()
    assert len(share) > 0.9 * len(mart)  # few customers suppressed
    assert (counts == 1).mean() == 0
    assert counts.min() >= K
    # and the whole released record's equivalence classes inside the delivery have >= k rows
    sizes = share.groupby(RELEASED).size()
    assert sizes.min() >= K


def test_exact_values_do_not_link(delivery: Delivery) -> None:
    """Linking on exact warehouse values (what broke the old share) finds nothing to join on."""
    share, mart = delivered(delivery), customers(delivery)
    for column in ("total_spend", "order_count", "days_since_last_purchase", "last_purchase_date"):
        assert column not in share.columns
    exact = {str(v) for v in mart["total_spend"]} | {str(v) for v in mart["order_count"]}
    assert not set(share.drop(columns=["partner_key"]).to_numpy().ravel()) & exact


def test_partner_knowing_one_category_cannot_single_anyone_out(delivery: Delivery) -> None:
    """A brand partner knows, per customer, the exact purchases in its own category (amount,
    orders, first and last purchase) and the demographics. Those bound the released bands and
    months; no delivered row is consistent with fewer than k such customers, for any category."""
    share, mart = delivered(delivery), customers(delivery)
    levels = admissible_values(mart)
    demographic = candidate_matrix(share, {c: levels[c] for c in ("gender", "state", "age_band")})
    spend = delivery.warehouse.query("select * from marts.customer_category_spend")
    bands = mart_bands()
    for slug, rows in spend.groupby("category_slug"):
        known = mart[["customer_id"]].merge(rows, on="customer_id", how="left")
        buyer = known["amount"].notna().to_numpy()
        ok = demographic.copy()
        # a customer with spend a (n orders) in the category has total >= a and orders >= n:
        # a row is consistent unless its band lies wholly below
        for released, source, fact in (
            ("total_spend_band", "total_spend", "amount"),
            ("order_count_band", "order_count", "order_count"),
        ):
            edges = bands[source]
            fact_values = known[fact].fillna(0).astype(float).to_numpy()
            upper = np.array([_upper_bound(label, edges) for label in share[released]])
            ok &= (upper[:, None] > fact_values[None, :]) | (fact_values[None, :] == 0)
        # a buyer in the category has purchases: rows released as 'no purchases' cannot be them
        no_purchase = (share["last_purchase_month"] == "unknown").to_numpy()
        ok &= ~(no_purchase[:, None] & buyer[None, :])
        counts = ok.sum(axis=1)
        assert (counts == 1).sum() == 0, slug
        assert counts.min() >= K, slug


def _upper_bound(label: str, edges: list[float]) -> float:
    """Exclusive upper bound of a released band label (coarse or fine), inf for '*' and open bands."""
    for width in (edges, edges[1::2]):
        names = band_names(width)[:-1]  # the last band is open
        if label in names:
            return float(width[names.index(label)])
    return float("inf")


def test_segment_summary_cells_hold_at_least_k_customers(delivery: Delivery) -> None:
    """The aggregate delivery: no partner key, every cell recomputed and of at least k customers,
    so knowing one customer's exact category spend matches a cell of >= k people, never one."""
    summary = pd.read_csv(delivery.out_dir / "partner_segment_summary.csv")
    assert "partner_key" not in summary.columns
    spend = delivery.warehouse.query(
        "select s.customer_id, s.category_slug, s.amount, c.rfm_segment "
        "from marts.customer_category_spend s join marts.customers c on c.customer_id = s.customer_id"
    )
    cells = (
        spend.groupby(["rfm_segment", "category_slug"])
        .agg(customers=("customer_id", "nunique"), amount=("amount", "sum"))
        .reset_index()
    )
    big = cells[cells["customers"] >= K]
    merged = big.merge(summary, on=["rfm_segment", "category_slug"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()  # exactly the cells of >= k customers are delivered
    assert (merged["customer_count"] == merged["customers"]).all()
    assert (merged["total_amount"] - merged["amount"].astype(float)).abs().max() <= 0.5
    assert summary["customer_count"].min() >= K
