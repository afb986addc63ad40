-- daily_category_spend is transactions re-aggregated: per category, the same spend and items in
-- total, and as many orders as distinct (order, day) pairs (an order counts once on each day it
-- has a line in the category). Returns the categories where the two disagree.
with

transactions as (

    select * from {{ ref('transactions') }}

),

daily as (

    select * from {{ ref('daily_category_spend') }}

),

order_days as (

    select distinct
        category_slug,
        transaction_date,
        order_id
    from transactions

),

orders_per_category as (

    select
        category_slug,
        count(*) as order_count

    from order_days
    group by category_slug

),

from_transactions as (

    select
        transactions.category_slug,
        sum(transactions.amount) as amount,
        max(orders_per_category.order_count) as order_count,
        sum(transactions.item_count) as items_sold

    from transactions
    inner join orders_per_category
        on transactions.category_slug = orders_per_category.category_slug
    group by transactions.category_slug

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
