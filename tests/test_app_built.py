"""The app on a warehouse really built by dbt (conftest's `duckdb_warehouse_generated`).

Checks that every page renders on the real marts and artifacts, that the profile and the
Metrics explorer show numbers equal to independent SQL over `marts.transactions`, and that
an explorer view round-trips through the URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from test_app_helpers import PAGES, open_page, point_app_at


@pytest.fixture
def built(duckdb_warehouse_generated: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point the app at the session's dbt-built DuckDB warehouse; caches start empty."""
    point_app_at(monkeypatch, duckdb_warehouse_generated.env)
    yield duckdb_warehouse_generated
    st.cache_data.clear()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_dbt_build(page: str, built: Any) -> None:
    at = open_page(page)
    assert at.title[0].value
    missing = [
        i.value for i in at.info if "not built" in i.value or "missing" in i.value or "no `" in i.value
    ]
    assert not missing  # every table the page reads exists after a real build


def test_profile_spend_equals_sql_on_the_dbt_build(built: Any) -> None:
    row = built.query(
        "select customer_id, email from marts.customers where order_count > 3 "
        "and email like '%@%' order by customer_id limit 1"
    ).iloc[0]
    expected = built.query(
        "select sum(amount) as s, count(*) as n from marts.transactions where customer_id = ?",
        (row["customer_id"],),
    ).iloc[0]
    at = open_page(PAGES[1])
    at.text_input(key="customer_search").input(row["customer_id"]).run()
    at.selectbox(key="customer_pick").select(row["customer_id"]).run()
    assert [m.value for m in at.metric if m.label == "Total spend"] == [f"${float(expected['s']):,.2f}"]
    assert [m.value for m in at.metric if m.label == "Orders"] == [f"{int(expected['n']):,}"]


def test_profile_segment_history_equals_sql_over_the_monthly_states(built: Any) -> None:
    """The profile lists each change of segment (plain SQL with lag()); the last is today's segment."""
    (customer_id,) = built.query(
        "select customer_id from marts.customer_monthly_states group by customer_id "
        "having count(distinct rfm_segment) > 2 order by customer_id limit 1"
    ).iloc[0]
    expected = built.query(
        """
        select month_end, rfm_segment from (
            select month_start, month_end, rfm_segment,
                   lag(rfm_segment) over (order by month_start) as previous_segment
            from marts.customer_monthly_states where customer_id = ?
        ) as m
        where previous_segment is null or previous_segment <> rfm_segment
        order by month_start
        """,
        (customer_id,),
    )
    (current,) = built.query(
        "select rfm_segment from marts.customers where customer_id = ?", (customer_id,)
    ).iloc[0]
    at = open_page(PAGES[1])
    at.text_input(key="customer_search").input(customer_id).run()
    at.selectbox(key="customer_pick").select(customer_id).run()
    (history,) = [df.value for df in at.dataframe if "since" in df.value.columns]
    assert list(history["rfm_segment"]) == list(expected["rfm_segment"])
    assert [str(d)[:10] for d in history["since"]] == [str(d)[:10] for d in expected["month_end"]]
    assert history["rfm_segment"].iloc[-1] == current


def test_data_quality_counts_match_run_results(built: Any) -> None:
    results = json.loads((built.target_path / "run_results.json").read_text())["results"]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    at = open_page(PAGES[3])
    for label, statuses in (
        ("Tests passed", ("pass",)),
        ("Warnings", ("warn",)),
        ("Failures", ("fail", "error")),
    ):
        expected = sum(1 for r in tests if r["status"] in statuses)
        assert [m.value for m in at.metric if m.label == label] == [f"{expected:,}"]


def explorer_table(at: AppTest) -> Any:
    tables = [df.value for df in at.dataframe if "total_spend" in df.value.columns]
    assert len(tables) == 1
    return tables[0]


def test_metric_query_from_the_url_equals_sql(built: Any) -> None:
    at = open_page(PAGES[5], {"metric": ["total_spend", "order_count"], "group_by": "transaction__category"})
    assert at.multiselect(key="mx_metrics").value == ["total_spend", "order_count"]
    table = explorer_table(at).set_index("transaction__category")
    expected = built.query(
        "select category, sum(amount) as spend, count(*) as orders from marts.transactions group by category"
    ).set_index("category")
    assert sorted(table.index) == sorted(expected.index)
    for category, row in expected.iterrows():
        assert table.loc[category, "total_spend"] == pytest.approx(float(row["spend"]), abs=0.01)
        assert table.loc[category, "order_count"] == int(row["orders"])
    sql_text = at.code[0].value.lower()
    assert "transactions" in sql_text and "sum(" in sql_text


def test_metric_filter_and_grain_change_the_numbers_and_the_url(built: Any) -> None:
    at = open_page(PAGES[5], {"metric": "total_spend"})
    at.selectbox(key="mx_grain").set_value(None).run()
    at.selectbox(key="mx_filter_dim").set_value("customer__state").run()
    at.multiselect(key="mx_filter_values").set_value(["NSW", "VIC"]).run()
    assert not at.exception
    expected = built.query(
        "select sum(t.amount) as s from marts.transactions t join marts.customers c "
        "on c.customer_id = t.customer_id where c.state in ('NSW', 'VIC')"
    )["s"].iloc[0]
    assert explorer_table(at)["total_spend"].iloc[0] == pytest.approx(float(expected), abs=0.01)
    assert sorted(at.query_params["filter"]) == ["customer__state:NSW", "customer__state:VIC"]
    assert at.query_params["metric"] in ("total_spend", ["total_spend"])


def test_trailing_spend_splits_by_product_category_only(built: Any) -> None:
    """trailing_30d_spend (daily aggregate) offers product category, not customer attributes."""
    at = open_page(
        PAGES[5],
        {
            "metric": "trailing_30d_spend",
            "group_by": ["customer__state", "product_category__category_name"],
            "grain": "month",
        },
    )
    assert not at.exception
    assert at.multiselect(key="mx_group_by").value == ["product_category__category_name"]
    tables = [df.value for df in at.dataframe if "trailing_30d_spend" in df.value.columns]
    assert len(tables) == 1
    categories = set(built.query("select distinct category from marts.transactions")["category"])
    assert set(tables[0]["product_category__category_name"]) == categories
    assert (tables[0]["trailing_30d_spend"] > 0).all()


def test_untrusted_url_values_are_dropped(built: Any) -> None:
    at = open_page(
        PAGES[5],
        {
            "metric": ["nope", "total_spend"],
            "group_by": ["1; drop table marts.customers", "customer__state"],
            "grain": "century",
            "start": "not-a-date",
        },
    )
    assert at.multiselect(key="mx_metrics").value == ["total_spend"]
    assert at.multiselect(key="mx_group_by").value == ["customer__state"]
    assert at.selectbox(key="mx_grain").value is None
    assert int(built.query("select count(*) as n from marts.customers")["n"].iloc[0]) > 0


@pytest.fixture
def built_pg(pg_warehouse_generated: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point the app at the session's dbt-built Postgres warehouse; caches start empty."""
    point_app_at(monkeypatch, pg_warehouse_generated.env)
    yield pg_warehouse_generated
    st.cache_data.clear()


@pytest.mark.postgres
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_postgres_build(page: str, built_pg: Any) -> None:
    at = open_page(page)
    missing = [
        i.value for i in at.info if "not built" in i.value or "missing" in i.value or "no `" in i.value
    ]
    assert not missing


@pytest.mark.postgres
def test_postgres_profile_and_metric_equal_sql(built_pg: Any) -> None:
    customer_id = built_pg.query(
        "select customer_id from marts.customers where order_count > 3 order by customer_id limit 1"
    )["customer_id"].iloc[0]
    spend = built_pg.query(
        "select sum(amount) as s from marts.transactions where customer_id = %s", (customer_id,)
    )["s"].iloc[0]
    at = open_page(PAGES[1])
    at.text_input(key="customer_search").input(customer_id).run()
    at.selectbox(key="customer_pick").select(customer_id).run()
    assert [m.value for m in at.metric if m.label == "Total spend"] == [f"${float(spend):,.2f}"]
    at = open_page(PAGES[5], {"metric": "order_count", "group_by": "customer__rfm_segment"})
    table = [df.value for df in at.dataframe if "order_count" in df.value.columns][0]
    expected = built_pg.query(
        "select c.rfm_segment, count(*) as n from marts.transactions t join "
        "marts.customers c on c.customer_id = t.customer_id group by 1"
    )
    got = dict(zip(table["customer__rfm_segment"], table["order_count"], strict=True))
    assert got == {r.rfm_segment: float(r.n) for r in expected.itertuples()}


# the raw rows a generic test on a source flags, recomputed in plain SQL (not from stored failures)
QUARANTINE = {
    "web.transactions": "quality.quarantined_transactions",
    "salesforce.contacts": "quality.quarantined_contacts",
}
FLAGGED_SQL = {
    "unique": "select id from {t} where {c} in (select {c} from {t} group by {c} having count(*) > 1)",
    "relationships": "select id from {t} where {c} is not null and {c} not in (select {f} from {p})",
    "not_null": "select id from {t} where {c} is null",
}


def test_failing_rows_are_the_source_rows_with_their_quarantine_reason(built: Any) -> None:
    """Each warning on a raw source lists exactly the rows plain SQL flags, with their source row
    and the reason the quarantine gave them (the relationships test is on web.transactions)."""
    results = json.loads((built.target_path / "run_results.json").read_text())["results"]
    nodes = json.loads((built.target_path / "manifest.json").read_text())["nodes"]
    problems = [
        r["unique_id"]
        for r in results
        if r["status"] in ("warn", "fail") and r["unique_id"].startswith("test.")
    ]
    assert problems, "the generated data set carries defects, so some tests must warn"
    at = open_page(PAGES[3])
    assert len(at.selectbox(key="dq_test").options) == len(problems)  # labels: readable title (status)
    tests = [df.value for df in at.dataframe if "severity" in df.value.columns][0]
    for unique_id in problems:
        node = nodes[unique_id]
        kwargs = node["test_metadata"]["kwargs"]
        table = ".".join(re.search(r"source\('(\w+)', '(\w+)'\)", kwargs["model"]).groups())
        to = re.search(r"(?:source\('(\w+)', '(\w+)'\)|ref\('(\w+)'\))", str(kwargs.get("to")) or "")
        parent = "" if to is None else (f"{to[1]}.{to[2]}" if to[1] else f"marts.{to[3]}")
        flagged = FLAGGED_SQL[node["test_metadata"]["name"]].format(
            t=table, c=node["column_name"], f=kwargs.get("field"), p=parent
        )
        held = QUARANTINE[table]
        expected = built.query(
            f"select r._source_row_number, q.reason from {table} as r left join {held} as q "
            "on q._source_file = r._source_file and q._source_row_number = r._source_row_number "
            f"where r.id in ({flagged}) order by r._source_file, r._source_row_number limit 200"
        )
        at.selectbox(key="dq_test").set_value(unique_id).run()
        shown = [df.value for df in at.dataframe if "quarantine_reason" in df.value.columns]
        assert len(shown) == 1, unique_id
        rows = shown[0]
        assert len(rows) > 0 and list(rows["_source_row_number"]) == list(expected["_source_row_number"])
        reasons = expected["reason"].fillna("not quarantined")
        assert [r.split(" (")[0] for r in rows["quarantine_reason"]] == list(reasons), unique_id
    on = set(tests["model"][tests["status"] == "warn"])
    assert on == {"web.transactions", "salesforce.contacts"}  # source tests sit on the source they read


def test_date_range_limits_the_metric_and_a_reversed_range_is_refused(built: Any) -> None:
    at = open_page(PAGES[5], {"metric": "total_spend", "start": "2025-01-01", "end": "2025-03-31"})
    expected = built.query(
        "select sum(amount) as s from marts.transactions "
        "where transaction_at >= '2025-01-01' and transaction_at < '2025-04-01'"
    )["s"].iloc[0]
    table = [df.value for df in at.dataframe if "total_spend" in df.value.columns][0]
    assert table["total_spend"].sum() == pytest.approx(float(expected), abs=0.01)
    at = open_page(PAGES[5], {"metric": "total_spend", "start": "2025-03-31", "end": "2025-01-01"})
    assert any("after" in w.value for w in at.warning)


def test_month_over_month_is_offered_at_month_grain_only(built: Any) -> None:
    at = open_page(PAGES[5], {"metric": "spend_mom_growth", "grain": "week"})
    assert not at.exception
    assert at.selectbox(key="mx_grain").options == ["month"]
    assert at.selectbox(key="mx_grain").value == "month"
    assert any("defined at month grain only" in c.value for c in at.caption)
    tables = [df.value for df in at.dataframe if "spend_mom_growth" in df.value.columns]
    assert len(tables) == 1 and "metric_time__month" in tables[0].columns


def test_explorer_describes_metrics_and_names_no_internal_columns(built: Any) -> None:
    at = open_page(PAGES[5], {"metric": ["total_spend", "trailing_30d_spend"], "grain": "month"})
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "Sum of transaction amounts" in captions and "(cumulative)" in captions
    group_options = at.multiselect(key="mx_group_by").options
    assert group_options and not [o for o in group_options if "__" in o]
    assert "Product category" in group_options


def test_explorer_states_a_range_widened_to_whole_months(built: Any) -> None:
    at = open_page(
        PAGES[5], {"metric": "total_spend", "grain": "month", "start": "2025-03-10", "end": "2025-04-20"}
    )
    assert not at.exception
    assert any("2025-03-01 to 2025-04-30" in i.value for i in at.info)
    table = explorer_table(at)
    expected = built.query(
        "select sum(amount) as s from marts.transactions "
        "where transaction_date between date '2025-03-01' and date '2025-04-30'"
    )["s"].iloc[0]
    assert table["total_spend"].sum() == pytest.approx(float(expected), abs=0.01)


def test_filter_values_of_a_cumulative_metric_come_from_the_semantic_layer(built: Any) -> None:
    at = open_page(PAGES[5], {"metric": "trailing_30d_spend", "grain": "month"})
    at.selectbox(key="mx_filter_dim").set_value("product_category__category_name").run()
    assert not at.exception
    categories = sorted(built.query("select distinct category from marts.transactions")["category"])
    assert at.multiselect(key="mx_filter_values").options == categories


def test_saved_query_with_a_filter_runs_from_the_explorer(built: Any) -> None:
    at = open_page(PAGES[5], {"metric": "total_spend"})
    at.selectbox(key="mx_saved").set_value("champions_monthly_spend").run()
    assert not at.exception
    tables = [df.value for df in at.dataframe if "metric_time__month" in df.value.columns]
    expected = built.query(
        "select sum(t.amount) as s from marts.transactions t join marts.customers c "
        "on c.customer_id = t.customer_id where c.rfm_segment = 'Champions'"
    )["s"].iloc[0]
    assert len(tables) == 1
    assert tables[0]["total_spend"].sum() == pytest.approx(float(expected), abs=0.01)
