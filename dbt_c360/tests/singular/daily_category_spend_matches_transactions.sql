-- daily_category_spend is transactions re-aggregated: per category, the same spend, orders and
-- items in total. Returns the categories where the two disagree.
with

transactions as (

    select * from {{ ref('transactions') }}

),

daily as (

    select * from {{ ref('daily_category_spend') }}

),

from_transactions as (

    select
        category_slug,
        sum(amount) as amount,
        count(*) as order_count,
        sum(item_count) as items_sold

    from transactions
    group by category_slug

),

from_daily as (

    select
        category_slug,
        sum(amount) as amount,
        sum(order_count) as order_count,
        sum(items_sold) as items_sold

    from daily
    group by category_slug

)

select coalesce(from_transactions.category_slug, from_daily.category_slug) as category_slug
from from_transactions
full outer join from_daily
    on from_transactions.category_slug = from_daily.category_slug
where
    from_transactions.category_slug is null
    or from_daily.category_slug is null
    or abs(from_transactions.amount - from_daily.amount) > 0.01
    or from_transactions.order_count <> from_daily.order_count
    or from_transactions.items_sold <> from_daily.items_sold
