"""Profile 360 with AppTest: purchases held in quarantine and identity conflicts on the profile.

The customers are found with SQL over the stored warehouse (one in `quality.identity_conflicts`,
one with quarantined transactions, one with neither) and the page's numbers are recomputed in SQL.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from app_store import write_duckdb
from test_app_helpers import PAGES, dollars, expected_ref, metric, open_page, sql, texts
from test_app_support import demo_frames

from c360.app import audiences as aud

HELD_SQL = """
    select c.customer_id, count(*), coalesce(sum(try_cast(trim(q.amount) as double)), 0)
    from marts.customers as c
    inner join quality.quarantined_transactions as q on trim(q.contact_id) = c.contact_id
    where {where}
    group by c.customer_id
    order by c.customer_id
    limit 1
"""


def _held_row(contact_id: str, row: int, amount: str, reason: str, category: str = "Books") -> dict:
    return {
        "contact_id": contact_id,
        "id": f"held-{row}",
        "transaction_date": "2024-06-01 10:00:00.000",
        "amount": amount,
        "item_count": "1",
        "category": category,
        "_loaded_at_utc": "",
        "_source_file": "transactions.csv",
        "_source_row_number": row,
        "reason": reason,
    }


@pytest.fixture(scope="module")
def profile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo warehouse plus held purchases: on the conflicted contact id and on one buyer."""
    frames = demo_frames()
    customers = frames["marts.customers"]
    shared = customers.loc[customers["has_identity_conflict"], "contact_id"].iloc[0]
    buyer = customers[~customers["has_identity_conflict"] & (customers["order_count"] > 0)].iloc[5]
    extra = [
        _held_row(shared, 101, "120.50", "ambiguous_contact_id"),
        _held_row(shared, 102, "33", "ambiguous_contact_id", "Kitchen"),
        _held_row(shared, 103, "7.25", "unknown_category", "Boks"),
        _held_row(f" {buyer['contact_id']} ", 201, "-3", "negative_amount"),  # raw values keep spaces
        _held_row(buyer["contact_id"], 202, "$45.00", "non_numeric_amount"),
        _held_row(buyer["contact_id"], 203, "12.5", "unknown_category", "Garden"),
    ]
    frames["quality.quarantined_transactions"] = pd.concat(
        [frames["quality.quarantined_transactions"], pd.DataFrame(extra)], ignore_index=True
    )
    path = tmp_path_factory.mktemp("profile") / "c360.duckdb"
    write_duckdb(path, frames)
    return path


def _held_table(at) -> pd.DataFrame:
    frames = [df.value for df in at.dataframe if {"reason", "transaction_id"} <= set(df.value.columns)]
    assert len(frames) == 1
    return frames[0]


def test_a_customer_with_quarantined_purchases_sees_them(profile_db: Path, use_db) -> None:
    use_db(profile_db)
    (customer_id, n, amount) = sql(profile_db, HELD_SQL.format(where="not c.has_identity_conflict"))[0]
    rows = sql(
        profile_db,
        "select id, reason from quality.quarantined_transactions where trim(contact_id) = "
        "(select contact_id from marts.customers where customer_id = ?) order by _source_row_number",
        [customer_id],
    )
    at = open_page(PAGES[1], {"customer_id": expected_ref(customer_id)})
    assert metric(at, "Held purchases") == f"{n:,}" and n == len(rows) == 3
    assert metric(at, "Held amount") == dollars(amount)
    held = _held_table(at)
    assert list(held["transaction_id"]) == [r[0] for r in rows]  # every held row, with its id
    assert list(held["reason"]) == [r[1] for r in rows]
    assert {"_source_file", "_source_row_number"} <= set(held.columns)
    shown = texts(at)
    assert f"Provisional profile: {n} purchase(s) of {dollars(amount)}" in shown  # next to the KPIs
    assert "Provisional: the segment and spend leave out" in shown
    assert "Provisional: these recommendations leave out" in shown
    assert "No data-quality flags" not in shown


def test_a_conflicted_customer_sees_the_other_person_and_the_held_purchases(profile_db: Path, use_db) -> None:
    use_db(profile_db)
    (customer_id, contact_id) = sql(
        profile_db,
        "select customer_id, contact_id from quality.identity_conflicts order by customer_id limit 1",
    )[0]
    others = [
        r[0]
        for r in sql(
            profile_db,
            "select customer_id from quality.identity_conflicts where contact_id = ? and customer_id <> ?",
            [contact_id, customer_id],
        )
    ]
    (_, n, amount) = sql(profile_db, HELD_SQL.format(where="c.customer_id = ?"), [customer_id])[0]
    at = open_page(PAGES[1], {"customer_id": expected_ref(customer_id)})
    assert metric(at, "Held purchases") == f"{n:,}" and n == 3
    assert metric(at, "Held amount") == dollars(amount)
    assert any("Identity conflict: another person" in w.value for w in at.warning)
    other_table = [df.value for df in at.dataframe if "full_name" in df.value.columns]
    assert len(other_table) == 1
    assert list(other_table[0]["customer_id"]) == [expected_ref(o) for o in others]  # refs, not raw ids
    assert all(o not in texts(at) for o in [customer_id, *others])
    assert f"Provisional profile: {n} purchase(s) of {dollars(amount)}" in texts(at)
    assert "No data-quality flags" not in texts(at)


def test_no_flags_only_when_truly_none(profile_db: Path, use_db) -> None:
    use_db(profile_db)
    (customer_id,) = sql(
        profile_db,
        """
        select customer_id from marts.customers as c
        where not has_identity_conflict and order_count > 0
          and not exists (select 1 from quality.quarantined_transactions as q
                          where trim(q.contact_id) = c.contact_id)
          and customer_id not in (select candidate_customer_id from quality.orphan_transaction_candidates)
        order by customer_id
        limit 1
        """,
    )[0]
    at = open_page(PAGES[1], {"customer_id": expected_ref(customer_id)})
    assert any("No data-quality flags" in s.value for s in at.success)
    assert "Provisional" not in texts(at) and not [m for m in at.metric if m.label == "Held purchases"]


def test_profile_lists_the_saved_audiences_it_belongs_to(profile_db: Path, use_db) -> None:
    use_db(profile_db)
    (customer_id, state, segment) = sql(
        profile_db,
        "select customer_id, state, rfm_segment from marts.customers where order_count > 0 "
        "order by customer_id limit 1",
    )[0]
    store = aud.AudienceStore.default()
    at = open_page(PAGES[1], {"customer_id": expected_ref(customer_id)})
    assert "No saved audiences yet" in texts(at)
    store.save("Same state", aud.Audience((aud.Group((aud.Condition("state", "in", (state,)),)),)))
    other = aud.Condition("rfm_segment", "not_in", (segment,))
    store.save("Other segment", aud.Audience((aud.Group((other,)),)))
    store.save(
        "Same segment or [link](http://evil.example)",
        aud.Audience((aud.Group((aud.Condition("rfm_segment", "in", (segment,)),)),)),
    )
    at = open_page(PAGES[1], {"customer_id": expected_ref(customer_id)})
    shown = texts(at)
    assert "In “Same segment or [link](http://evil.example)”, “Same state”" in shown
    assert "Other segment" not in shown
    assert not [m for m in [*at.markdown, *at.caption] if "](http" in str(m.value)]  # the name is escaped


def test_profile_pages_the_transactions_newest_first(demo_db: Path, use_db) -> None:
    """Page 2 at 5 rows a page holds rows 6-10 of the customer's transactions (plain SQL)."""
    use_db(demo_db)
    ((customer_id, n),) = sql(
        demo_db,
        "select customer_id, count(*) from marts.transactions group by customer_id "
        "order by count(*) desc, customer_id limit 1",
    )
    assert n > 5, "the busiest customer has more than one page"
    expected = [
        t
        for (t,) in sql(
            demo_db,
            "select transaction_id from marts.transactions where customer_id = ? "
            "order by transaction_at desc, transaction_id",
            [customer_id],
        )
    ]
    at = open_page(PAGES[1])
    at.text_input(key="customer_search").input(customer_id).run()
    at.selectbox(key="customer_pick").select(customer_id).run()
    at.selectbox(key="tx_page_size").select(5).run()
    at.number_input(key="tx_page").set_value(2).run()
    (page,) = [
        df.value
        for df in at.dataframe
        if "item_count" in df.value.columns and "transaction_id" in df.value.columns
    ]
    assert list(page["transaction_id"]) == expected[5:10]
    assert f"Transactions 6-{min(10, n)} of {n:,}, newest first." in texts(at)
