"""The lower bound for `dbt build`: one hand-written statement per engine that computes the
`customers` mart's core (purchase summary, spend per category, RFM quintiles) straight from
the raw text tables, with the same validation rules as staging (typing, positive amounts,
no future dates, known categories, exact duplicates collapsed, identity conflicts and
orphans left out). It is what a person would write by hand with no models, tests or
quarantine: the cost of the answer alone.
"""

from __future__ import annotations

import csv

from c360.config import DBT_PROJECT_DIR, TARGETS

SEED = DBT_PROJECT_DIR / "seeds" / "product_categories.csv"


def _categories() -> list[tuple[str, str]]:
    """(name, slug) of each row of the product_categories seed, in sort order."""
    with SEED.open(newline="", encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row["sort_order"]))
    return [(row["category_name"], row["category_slug"]) for row in rows]

_TS = r"'^[0-9]{4}-[0-9]{2}-[0-9]{2} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?$'"

_TYPED = {
    # DuckDB: try_cast never raises.
    "duckdb": {
        "ts": "case when regexp_matches(trim({x}), " + _TS + ") then try_cast(trim({x}) as timestamp) end",
        "num": "try_cast({x} as decimal(18, 2))",
        "int": "try_cast({x} as integer)",
    },
    # Postgres: no try_cast, so regex guards; the calendar check mirrors the staging macro.
    "postgres": {
        "ts": (
            "case when trim({x}) ~ " + _TS + " then case when substr(trim({x}), 6, 2)::int between 1 and 12"
            " and substr(trim({x}), 9, 2)::int between 1 and extract(day from (make_date("
            "substr(trim({x}), 1, 4)::int, substr(trim({x}), 6, 2)::int, 1) + interval '1 month'"
            " - interval '1 day'))::int then trim({x})::timestamp end end"
        ),
        "num": "case when trim({x}) ~ '^[-+]?[0-9]+([.][0-9]+)?$' then trim({x})::numeric(18, 2) end",
        "int": "case when trim({x}) ~ '^[-+]?[0-9]{1,9}$' then trim({x})::integer end",
    },
}


def lower_bound_sql(engine: str, table: str = "bench_lower_bound") -> str:
    """`create table <table> as ...` computing the customers core from raw tables on `engine`."""
    if engine not in TARGETS or engine not in _TYPED:
        raise ValueError(f"no lower-bound SQL for {engine!r}")
    t = _TYPED[engine]
    ts = t["ts"].replace("{x}", "transaction_date")
    loaded = t["ts"].replace("{x}", "_loaded_at_utc")
    num = t["num"].replace("{x}", "amount")
    integer = t["int"].replace("{x}", "item_count")
    categories = _categories()
    cats = ", ".join("'" + name.replace("'", "''") + "'" for name, _ in categories)
    pivots = ",\n        ".join(
        f"sum(case when category = '{name}' then amount else 0 end) as {slug}_amount"
        for name, slug in categories
    )
    return f"""
create table {table} as
with contacts as (
    select distinct id, username, name, gender, address, mail, birthdate, _loaded_at_utc
    from salesforce.contacts where nullif(trim(id), '') is not null
),
single_person_ids as (
    select trim(id) as contact_id from contacts group by trim(id) having count(*) = 1
),
raw_transactions as (
    select distinct contact_id, id, transaction_date, amount, item_count, category, order_id, _loaded_at_utc
    from web.transactions
),
typed as (
    select trim(contact_id) as contact_id, trim(id) as transaction_id, {ts} as transaction_at,
           {loaded} as loaded_at, {num} as amount, {integer} as item_count, trim(category) as category,
           coalesce(nullif(trim(order_id), ''), trim(id)) as order_id
    from raw_transactions
    where nullif(trim(id), '') is not null
),
valid as (
    select typed.*, row_number() over (partition by transaction_id order by loaded_at) as id_rank
    from typed
    join single_person_ids on typed.contact_id = single_person_ids.contact_id
    where transaction_at is not null and loaded_at is not null and transaction_at <= loaded_at
      and transaction_at <= current_timestamp and amount > 0 and item_count > 0
      and category in ({cats})
),
per_customer as (
    select contact_id as customer_id,
        min(cast(transaction_at as date)) as first_purchase_date,
        max(cast(transaction_at as date)) as last_purchase_date,
        count(distinct order_id) as order_count, sum(item_count) as items_purchased,
        sum(amount) as total_spend,
        {pivots}
    from valid where id_rank = 1
    group by contact_id
)
select per_customer.*,
    ntile(5) over (order by last_purchase_date, customer_id) as recency_score,
    ntile(5) over (order by order_count, customer_id) as frequency_score,
    ntile(5) over (order by total_spend, customer_id) as monetary_score
from per_customer
"""
