"""The metrics client: catalog, input validation, caching, DuckDB lock, engine parity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pandas as pd
import pytest

from c360.metrics import planning
from c360.metrics.client import MetricsClient, MetricsQueryError
from c360.warehouse import Warehouse as ExecTarget
from c360.warehouse import WarehouseBusyError
from tests.conftest import Warehouse
from tests.metrics_expected import client_for, read_marts, transaction_metrics

PARITY_QUERIES: list[dict] = [
    {"metrics": ["total_spend", "order_count", "items_sold", "average_order_value"], "time_grain": "month"},
    {"metrics": ["active_customers", "spend_per_customer"], "group_by": ["customer__rfm_segment"]},
    {"metrics": ["trailing_30d_spend", "total_spend"], "time_grain": "week"},
    {"metrics": ["trailing_30d_spend", "spend_mom_growth", "total_spend"], "time_grain": "month"},
    {"metrics": ["spend_mom_growth"], "group_by": ["customer__rfm_segment"]},
    {
        "metrics": ["trailing_30d_spend", "total_spend"],
        "group_by": ["product_category__category_name"],
        "time_grain": "month",
    },
    {
        "metrics": ["new_customers", "cohort_lifetime_repeat_rate", "avg_days_since_last_purchase"],
        "time_grain": "quarter",
    },
    {
        "metrics": ["customer_count", "avg_days_since_last_purchase"],
        "group_by": ["customer__age_band", "customer__gender"],
    },
    {
        "metrics": ["books_spend_share", "kitchen_spend_share", "beauty_spend"],
        "group_by": ["customer__state"],
    },
    {
        "metrics": ["active_customers"],
        "group_by": ["customer__acquisition_month__month"],
        "time_grain": "month",
    },
]


@pytest.fixture(scope="module")
def duck(duckdb_warehouse_generated: Warehouse) -> MetricsClient:
    """Client on the generated DuckDB warehouse."""
    return client_for(duckdb_warehouse_generated)


def test_catalog_has_labels_descriptions_and_common_dimensions(duck: MetricsClient) -> None:
    catalog = {m.name: m for m in duck.catalog()}
    assert {"total_spend", "cohort_lifetime_repeat_rate", "books_spend_share", "spend_mom_growth"} <= set(
        catalog
    )
    assert all(m.label and m.description for m in catalog.values())
    assert catalog["average_order_value"].type == "ratio"
    assert catalog["trailing_30d_spend"].type == "cumulative"

    spend_dims = {d.name: d for d in duck.dimensions(["total_spend"])}
    assert {"transaction__category", "customer__state", "customer__rfm_segment", "metric_time"} <= set(
        spend_dims
    )
    assert spend_dims["metric_time"].grains == ("day", "week", "month", "quarter", "year")
    assert spend_dims["customer__acquisition_month"].grains == ("month", "quarter", "year")
    assert spend_dims["customer__gender"].label == "Gender"
    # Customer metrics cannot be split by a transaction attribute: not a common dimension.
    common = {d.name for d in duck.dimensions(["total_spend", "new_customers"])}
    assert "transaction__category" not in common
    assert {"customer__state", "customer__age_band", "metric_time"} <= common


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": ["no_such_metric"]}, "unknown metric"),
        ({"metrics": "total_spend"}, "non-empty list"),
        ({"metrics": ["total_spend"], "group_by": ["customer__email"]}, "not valid for these metrics"),
        (
            {"metrics": ["new_customers"], "group_by": ["transaction__category"]},
            "not valid for these metrics",
        ),
        ({"metrics": ["total_spend"], "group_by": ["customer__acquisition_month__day"]}, "not valid"),
        ({"metrics": ["total_spend"], "time_grain": "hour"}, "time_grain must be one of"),
        (
            {
                "metrics": ["total_spend"],
                "where": {"customer__state": ["NSW'; drop table marts.customers; --"]},
            },
            "not allowed",
        ),
        ({"metrics": ["total_spend"], "where": {"customer__state": ["{{ Dimension('x') }}"]}}, "not allowed"),
        ({"metrics": ["total_spend"], "where": {"customer__state": []}}, "give 1 to"),
        (
            {"metrics": ["total_spend"], "where": {"customer__first_purchase_date": ["2024-01-01"]}},
            "not a categorical",
        ),
        ({"metrics": ["total_spend"], "where": {"1=1 or customer__state": ["NSW"]}}, "not a categorical"),
        ({"metrics": ["total_spend"], "order": ["amount"]}, "not a queried metric"),
        ({"metrics": ["total_spend"], "limit": 0}, "positive integer"),
        ({"metrics": ["total_spend"], "start": "2024-01-01"}, "date or datetime"),
    ],
)
def test_invalid_input_is_rejected_before_sql(duck: MetricsClient, kwargs: dict, message: str) -> None:
    with pytest.raises(MetricsQueryError, match=message):
        duck.query(**kwargs)


def test_quoted_filter_values_are_escaped(duck: MetricsClient, duckdb_warehouse_generated: Warehouse) -> None:
    sql = duck.sql(["total_spend"], where={"customer__state": ["O'Brien", "NSW"]})
    assert "in ('NSW', 'O''Brien')" in sql
    # No such state: the ungrouped aggregate is one row with no spend (SQL sum over no rows).
    none = duck.query(["total_spend"], where={"customer__state": ["O'Brien"]})
    assert len(none) <= 1 and none["total_spend"].isna().all()
    remaining = duckdb_warehouse_generated.query("select count(*) as n from marts.customers")["n"][0]
    assert remaining > 0


def test_order_and_limit(duck: MetricsClient, duckdb_warehouse_generated: Warehouse) -> None:
    got = duck.query(["total_spend"], group_by=["transaction__category"], order=["-total_spend"], limit=3)
    tx = read_marts(duckdb_warehouse_generated).transactions
    expected = tx.groupby("category")["amount"].sum().sort_values(ascending=False).head(3)
    assert list(got["transaction__category"]) == list(expected.index)
    assert got["total_spend"].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-9)


def test_sql_is_compiled_once_per_query_shape(duck: MetricsClient) -> None:
    kwargs = {"group_by": ["customer__gender"], "time_grain": "year", "where": {"customer__state": ["VIC"]}}
    first = duck.sql(["items_sold"], **kwargs)
    hits = planning.compiled_sql.cache_info().hits
    assert duck.sql(["items_sold"], **kwargs) == first
    # Same shape with the filter values in another order is the same cache entry.
    assert duck.sql(["items_sold"], **{**kwargs, "where": {"customer__state": ("VIC",)}}) == first
    assert planning.compiled_sql.cache_info().hits == hits + 2
    assert "marts" in first and "customers" in first


def test_cumulative_metric_reads_the_daily_aggregate(duck: MetricsClient) -> None:
    """trailing_30d_spend joins the time spine with days x categories, not with every transaction.

    Its latency is measured by `make bench`; here the structure that makes it fast is checked.
    """
    sql = duck.sql(["trailing_30d_spend"], time_grain="month")
    assert '"daily_category_spend"' in sql
    assert '"transactions"' not in sql
    dims = {d.name for d in duck.dimensions(["trailing_30d_spend"])}
    assert "product_category__category_name" in dims
    assert "customer__state" not in dims


def test_client_does_not_keep_duckdb_locked(
    duck: MetricsClient, duckdb_warehouse_generated: Warehouse
) -> None:
    assert not duck.query(["total_spend"], time_grain="month").empty
    writer = duckdb.connect(str(duckdb_warehouse_generated.duckdb_path))  # read-write: needs the lock
    try:
        writer.execute("create or replace temp table lock_probe as select 1 as x")
    finally:
        writer.close()


def test_busy_duckdb_gives_a_clear_error(duck: MetricsClient, duckdb_warehouse_generated: Warehouse) -> None:
    holder = (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
        "print('locked', flush=True); time.sleep(30)"
    )
    path = str(duckdb_warehouse_generated.duckdb_path)
    with subprocess.Popen([sys.executable, "-c", holder, path], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
            with pytest.raises(WarehouseBusyError, match="locked by another process"):
                duck.query(["order_count"])
        finally:
            proc.kill()
    assert duck.query(["order_count"])["order_count"][0] > 0


def test_unsupported_target_and_missing_manifest(tmp_path) -> None:
    client = MetricsClient(ExecTarget("duckdb", duckdb_path=tmp_path / "x.duckdb"), tmp_path / "none.json")
    with pytest.raises(FileNotFoundError, match="none.json not found: run `make build`"):
        client.catalog()


@pytest.mark.postgres
def test_duckdb_and_postgres_give_identical_answers(
    duck: MetricsClient, duckdb_warehouse_generated: Warehouse, pg_warehouse_generated: Warehouse
) -> None:
    pg = client_for(pg_warehouse_generated)
    # The DuckDB build's manifest also drives Postgres: relations are target-neutral.
    pg_with_duck_manifest = MetricsClient(ExecTarget("postgres", pg=pg_warehouse_generated.pg), duck.manifest)
    for spec in PARITY_QUERIES:
        spec = dict(spec)
        names = spec.pop("metrics")
        from_duck = duck.query(names, **spec)
        assert not from_duck.empty, spec
        for other in (pg, pg_with_duck_manifest):
            pd.testing.assert_frame_equal(
                from_duck, other.query(names, **spec), check_exact=False, rtol=1e-12
            )
    # And both equal an independent computation on their own marts.
    duck_marts = read_marts(duckdb_warehouse_generated).transactions
    pg_marts = read_marts(pg_warehouse_generated).transactions
    keys = ["category"]
    pd.testing.assert_frame_equal(
        transaction_metrics(duck_marts, keys),
        transaction_metrics(pg_marts, keys),
        check_exact=False,
        rtol=1e-12,
    )


def test_concurrent_queries_match_serial_ones(duck: MetricsClient) -> None:
    specs = [
        {"metrics": ["total_spend"], "group_by": ["customer__state"]},
        {"metrics": ["order_count", "items_sold"], "time_grain": "quarter"},
        {"metrics": ["new_customers"], "group_by": ["customer__gender"], "time_grain": "year"},
        {"metrics": ["books_spend_share"], "group_by": ["customer__age_band"]},
    ]
    serial = [duck.query(**spec) for spec in specs]
    planning.compiled_sql.cache_clear()  # make the threads plan concurrently
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda spec: duck.query(**spec), specs * 2))
    for i, frame in enumerate(parallel):
        pd.testing.assert_frame_equal(frame, serial[i % len(specs)])


def test_a_new_manifest_is_picked_up(duck: MetricsClient, tmp_path) -> None:
    manifest = tmp_path / "semantic_manifest.json"
    raw = json.loads(duck.manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps(raw), encoding="utf-8")
    client = MetricsClient(duck.warehouse, manifest)
    assert client.metric("total_spend").label == "Total spend"
    next(m for m in raw["metrics"] if m["name"] == "total_spend")["label"] = "Revenue"
    manifest.write_text(json.dumps(raw), encoding="utf-8")
    os.utime(manifest, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert client.metric("total_spend").label == "Revenue"


@pytest.mark.postgres
def test_postgres_knows_how_many_groups_a_time_grain_makes(pg_warehouse_generated: Warehouse) -> None:
    """c360.postgres_time_grain_statistics: the planner's group estimate for month x category is about the
    real count, not the number of distinct timestamps (which made it sort 10M rows at 1M customers)."""
    names = pg_warehouse_generated.query(
        "select stxname from pg_statistic_ext where stxrelid = 'marts.transactions'::regclass"
    )["stxname"]
    assert sorted(n.split("_")[-2] for n in names) == sorted(["day", "week", "month", "quarter", "year"])
    grouped = (
        "select date_trunc('month', transaction_at) as m, category, count(*) "
        "from marts.transactions group by 1, 2"
    )
    plan = pg_warehouse_generated.query("explain (format json) " + grouped).iloc[0, 0][0]["Plan"]
    actual = len(pg_warehouse_generated.query(grouped))
    distinct = "select count(distinct transaction_at) as n from marts.transactions"
    distinct_times = int(pg_warehouse_generated.query(distinct)["n"][0])
    assert actual * 3 < distinct_times
    assert plan["Plan Rows"] <= 2 * actual, (plan["Plan Rows"], actual)


def test_query_shapes_are_described_in_words_for_messages() -> None:
    """Errors name the query in words, never the internal QueryShape repr."""
    import datetime

    from c360.metrics.client import QueryShape

    shape = QueryShape(
        metrics=("total_spend", "order_count"),
        group_by=("metric_time__month",),
        start=datetime.datetime(2026, 1, 1),
        end=None,
    )
    assert shape.describe() == "total_spend, order_count by metric_time__month from 2026-01-01 to the end"
    assert QueryShape(metrics=("total_spend",)).describe() == "total_spend"
