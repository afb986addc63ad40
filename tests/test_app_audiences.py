"""The Audiences page and `c360.app.audiences`: conditions, AND/OR, live size, save/restore, overlap, export.

Sizes and exported rows are recomputed with plain SQL over the same DuckDB demo warehouse;
the partner key and the normalised-email hash are recomputed in Python.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from app_store import write_duckdb
from test_app_helpers import APP_TEST_SALT, PAGES, dollars, metric, open_page, sql, texts
from test_app_support import demo_frames

from c360.app import audiences as aud
from c360.app.ui import warehouse as current_warehouse

PAGE = PAGES[6]
CHAMPIONS_NO_KITCHEN = aud.Audience(
    (
        aud.Group(
            (
                aud.Condition("rfm_segment", "in", ("Champions",)),
                aud.Condition("category", "not_bought", ("Kitchen",), days=90),
            )
        ),
    )
)
CHAMPIONS_NO_KITCHEN_SQL = """
    from marts.customers
    where rfm_segment = 'Champions'
      and customer_id not in (
        select customer_id from marts.transactions
        where category = 'Kitchen'
          and transaction_date > (select max(transaction_date) from marts.transactions) - interval 90 day
      )
"""


@pytest.fixture(scope="module")
def audience_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo warehouse with some emails in mixed case and padded with spaces (to normalise)."""
    frames = demo_frames()
    customers = frames["marts.customers"]
    customers.loc[::3, "email"] = "  " + customers.loc[::3, "email"].str.upper() + " "
    customers.loc[5, "email"] = None
    path = tmp_path_factory.mktemp("audiences") / "c360.duckdb"
    write_duckdb(path, frames)
    return path


def test_champions_who_did_not_buy_kitchen_in_90_days_equal_sql(audience_db: Path, use_db) -> None:
    use_db(audience_db)
    (n, spend) = sql(audience_db, f"select count(*), sum(total_spend) {CHAMPIONS_NO_KITCHEN_SQL}")[0]
    (champions,) = sql(audience_db, "select count(*) from marts.customers where rfm_segment = 'Champions'")[0]
    assert 0 < n < champions  # the behaviour condition removes some Champions
    at = open_page(PAGE, {"audience_def": aud.encode(CHAMPIONS_NO_KITCHEN)})
    assert metric(at, "Audience size") == f"{n:,}"
    assert metric(at, "Audience spend") == dollars(spend)
    assert "did not buy Kitchen in the last 90 days" in texts(at)


def test_building_it_with_the_widgets_puts_it_in_the_url(audience_db: Path, use_db) -> None:
    use_db(audience_db)
    at = open_page(PAGE)
    (everyone,) = sql(audience_db, "select count(*) from marts.customers")[0]
    assert metric(at, "Audience size") == f"{everyone:,}"
    at.selectbox(key="aud_field").set_value("rfm_segment").run()
    at.multiselect(key="aud_values_rfm_segment").set_value(["Champions"]).run()
    at.button(key="aud_add").click().run()
    at.selectbox(key="aud_target").set_value(0).run()
    at.selectbox(key="aud_field").set_value("category").run()
    at.selectbox(key="aud_op_category").set_value("not_bought").run()
    at.selectbox(key="aud_category").set_value("Kitchen").run()
    at.number_input(key="aud_days").set_value(90).run()
    at.button(key="aud_add").click().run()
    assert not at.exception
    (n,) = sql(audience_db, f"select count(*) {CHAMPIONS_NO_KITCHEN_SQL}")[0]
    assert metric(at, "Audience size") == f"{n:,}"
    assert aud.decode(at.query_params["audience_def"]) == CHAMPIONS_NO_KITCHEN


def test_export_rows_keys_and_email_hashes_equal_sql(audience_db: Path, use_db) -> None:
    use_db(audience_db)
    rows = sql(audience_db, f"select customer_id, email {CHAMPIONS_NO_KITCHEN_SQL} order by customer_id")
    hidden = pd.read_csv(
        io.BytesIO(aud.audience_csv(current_warehouse(), CHAMPIONS_NO_KITCHEN, reveal=False)),
        keep_default_na=False,
    )
    assert set(hidden.columns) & {"customer_id", "email", "full_name", "address", "username"} == set()
    assert list(hidden["partner_key"]) == [
        hashlib.sha256(f"{APP_TEST_SALT}{cid}".encode()).hexdigest() for cid, _ in rows
    ]
    expected_emails = [
        "" if email is None else hashlib.sha256(email.strip().lower().encode()).hexdigest()
        for _, email in rows
    ]
    assert list(hidden["email_sha256"]) == expected_emails
    assert any(email and email != email.strip().lower() for _, email in rows)  # normalisation was exercised
    assert set(hidden["rfm_segment"]) == {"Champions"}
    shown = pd.read_csv(io.BytesIO(aud.audience_csv(current_warehouse(), CHAMPIONS_NO_KITCHEN, reveal=True)))
    assert list(shown["customer_id"]) == [cid for cid, _ in rows]
    sidecar = json.loads(
        aud.audience_definition(current_warehouse(), "No kitchen", CHAMPIONS_NO_KITCHEN, False)
    )
    assert aud.Audience.from_dict(sidecar["definition"]) == CHAMPIONS_NO_KITCHEN
    assert sidecar["rows"] == len(rows) and sidecar["audience"] == "No kitchen"
    assert sidecar["salt_fingerprint"] == hashlib.sha256(APP_TEST_SALT.encode()).hexdigest()[:12]
    assert APP_TEST_SALT not in json.dumps(sidecar)


def test_email_hash_normalises() -> None:
    expected = hashlib.sha256(b"mary.davis@example.com").hexdigest()
    assert aud.email_hash("  Mary.Davis@Example.COM \t") == expected
    assert aud.email_hash(None) == aud.email_hash(" ") == aud.email_hash(float("nan")) == ""


def test_and_or_groups_equal_sql(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    champions = aud.Group((aud.Condition("rfm_segment", "in", ("Champions",)),))
    nsw_regulars = aud.Group(
        (aud.Condition("state", "in", ("NSW",)), aud.Condition("order_count", ">=", number=4)), "all"
    )
    either = aud.Group(
        (aud.Condition("state", "in", ("WA",)), aud.Condition("total_spend", "<=", number=50)), "any"
    )
    cases = {
        "(rfm_segment = 'Champions') or (state = 'NSW' and order_count >= 4)": aud.Audience(
            (champions, nsw_regulars), "any"
        ),
        "(rfm_segment = 'Champions') and (state = 'WA' or total_spend <= 50)": aud.Audience(
            (champions, either), "all"
        ),
        "customer_id in (select customer_id from marts.transactions where category = 'Books') "
        "and days_since_last_purchase <= 60": aud.Audience(
            (
                aud.Group(
                    (
                        aud.Condition("category", "bought", ("Books",)),  # ever
                        aud.Condition("days_since_last_purchase", "<=", number=60),
                    )
                ),
            )
        ),
        "coalesce(state not in ('NSW', 'VIC'), true) and order_count >= 1": aud.Audience(
            (
                aud.Group(
                    (
                        aud.Condition("state", "not_in", ("NSW", "VIC")),
                        aud.Condition("order_count", ">=", number=1),
                    )
                ),
            )
        ),
    }
    for where, audience in cases.items():
        (n, spend) = sql(
            demo_db, f"select count(*), coalesce(sum(total_spend), 0) from marts.customers where {where}"
        )[0]
        assert aud.audience_size(current_warehouse(), audience) == {
            "customers": n,
            "spend": pytest.approx(spend),
        }
        at = open_page(PAGE, {"audience_def": aud.encode(audience)})
        assert metric(at, "Audience size") == f"{n:,}", where


def test_save_restore_and_overlap(demo_db: Path, use_db, tmp_path: Path) -> None:
    use_db(demo_db)
    at = open_page(PAGE, {"audience_def": aud.encode(CHAMPIONS_NO_KITCHEN)})
    at.text_input(key="aud_name").input("Champions without Kitchen").run()
    at.button(key="aud_save").click().run()
    assert at.query_params["audience"] == "Champions without Kitchen"
    stored = json.loads((tmp_path / "app" / "audiences.json").read_text())
    assert aud.Audience.from_dict(stored["audiences"]["Champions without Kitchen"]) == CHAMPIONS_NO_KITCHEN
    nsw = aud.Audience((aud.Group((aud.Condition("state", "in", ("NSW",)),)),))
    aud.AudienceStore.default().save("NSW", nsw)

    restored = open_page(PAGE, {"audience": "Champions without Kitchen"})  # a new session, from the URL
    (n,) = sql(demo_db, f"select count(*) {CHAMPIONS_NO_KITCHEN_SQL}")[0]
    assert metric(restored, "Audience size") == f"{n:,}"
    assert restored.text_input(key="aud_name").value == "Champions without Kitchen"
    restored.selectbox(key="aud_ov_a").set_value("Champions without Kitchen").run()
    restored.selectbox(key="aud_ov_b").set_value("NSW").run()
    (both, only_a, only_b) = sql(
        demo_db,
        f"""
        with a as (select customer_id {CHAMPIONS_NO_KITCHEN_SQL}),
             b as (select customer_id from marts.customers where state = 'NSW')
        select
            (select count(*) from a where customer_id in (select customer_id from b)),
            (select count(*) from a where customer_id not in (select customer_id from b)),
            (select count(*) from b where customer_id not in (select customer_id from a))
        """,
    )[0]
    assert both > 0 and only_a > 0 and only_b > 0
    assert metric(restored, "In both") == f"{both:,}"
    assert metric(restored, "Only in the first") == f"{only_a:,}"
    assert metric(restored, "Only in the second") == f"{only_b:,}"

    missing = open_page(PAGE, {"audience": "nobody saved this"})
    assert any("No saved audience" in w.value for w in missing.warning)


INJECTIONS = ("Champions' or '1'='1", "x'); drop table marts.customers; --", "%", 'NSW" or 1=1 --')


def test_injection_strings_in_values_are_inert(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    (everyone,) = sql(demo_db, "select count(*) from marts.customers")[0]
    for payload in INJECTIONS:
        audience = aud.Audience(
            (
                aud.Group(
                    (
                        aud.Condition("rfm_segment", "in", (payload,)),
                        aud.Condition("category", "bought", (payload,)),
                    )
                ),
            ),
            "any",
        )
        where, params = audience.where(None)
        assert payload not in where and payload in params
        assert aud.audience_size(current_warehouse(), audience)["customers"] == 0
        at = open_page(PAGE, {"audience_def": aud.encode(audience)})
        assert metric(at, "Audience size") == "0"
    assert sql(demo_db, "select count(*) from marts.customers")[0][0] == everyone


@pytest.mark.parametrize(
    "raw",
    [
        {"groups": [{"conditions": [{"field": "c.state; drop table x", "op": "in", "values": ["NSW"]}]}]},
        {"groups": [{"conditions": [{"field": "state", "op": "= 'x' or 1=1 --", "values": ["NSW"]}]}]},
        {"groups": [{"conditions": [{"field": "order_count", "op": ">=", "number": "1 or 1=1"}]}]},
        {"match": "xor", "groups": []},
    ],
)
def test_malformed_definitions_are_refused(raw: dict, demo_db: Path, use_db) -> None:
    with pytest.raises(aud.AudienceError):
        aud.Audience.from_dict(raw)
    use_db(demo_db)
    link = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()
    at = open_page(PAGE, {"audience_def": link})
    assert any("was not restored" in w.value for w in at.warning)
    (everyone,) = sql(demo_db, "select count(*) from marts.customers")[0]
    assert metric(at, "Audience size") == f"{everyone:,}"


def test_an_unreadable_store_is_reported(demo_db: Path, use_db, tmp_path: Path) -> None:
    use_db(demo_db)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "audiences.json").write_text("{not json")
    at = open_page(PAGE)
    assert any("unreadable" in w.value for w in at.warning)


def test_export_reports_a_missing_table_in_the_file(tmp_path: Path, use_db) -> None:
    path = tmp_path / "c360.duckdb"
    write_duckdb(path, {"marts.rfm_segments": demo_frames(customers=5)["marts.rfm_segments"]})
    use_db(path)
    exported = pd.read_csv(io.BytesIO(aud.audience_csv(current_warehouse(), aud.Audience(), False)))
    assert list(exported.columns) == ["error"] and "make build" in exported["error"].iloc[0]


def test_open_and_delete_a_saved_audience(demo_db: Path, use_db) -> None:
    use_db(demo_db)
    store = aud.AudienceStore.default()
    nsw = aud.Audience((aud.Group((aud.Condition("state", "in", ("NSW",)),)),))
    store.save("NSW", nsw)
    store.save("Champions without Kitchen", CHAMPIONS_NO_KITCHEN)
    at = open_page(PAGE)
    at.selectbox(key="aud_open_name").set_value("NSW").run()
    at.button(key="aud_open").click().run()
    (n,) = sql(demo_db, "select count(*) from marts.customers where state = 'NSW'")[0]
    assert metric(at, "Audience size") == f"{n:,}" and at.text_input(key="aud_name").value == "NSW"
    assert aud.decode(at.query_params["audience_def"]) == nsw
    at.button(key="aud_delete").click().run()
    assert not at.exception
    assert set(store.load()) == {"Champions without Kitchen"}


def test_top_pick_condition_equals_rank_one_sql(audience_db: Path, use_db) -> None:
    """Top recommended category is X: holds exactly the customers whose rank-1 pick is X."""
    use_db(audience_db)
    picks = sql(
        audience_db,
        "select category, count(*) from marts.next_best_category where rank = 1 group by category "
        "order by count(*) desc, category",
    )
    category, expected = picks[0]
    (total,) = sql(audience_db, "select count(*) from marts.customers")[0]
    wh = current_warehouse()
    chosen = aud.Audience((aud.Group((aud.Condition("top_pick", "in", (category,)),)),))
    others = aud.Audience((aud.Group((aud.Condition("top_pick", "not_in", (category,)),)),))
    assert aud.audience_size(wh, chosen)["customers"] == expected > 0
    assert aud.audience_size(wh, others)["customers"] == total - expected  # no pick counts as "not X"
    assert aud.decode(aud.encode(chosen)) == chosen
