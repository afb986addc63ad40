-- One row per day and product category with spend: the daily pre-aggregate behind the
-- cumulative metric trailing_30d_spend. MetricFlow's cumulative SQL range-joins every input row
-- with the 30 time-spine days after it; joining days x categories instead of single
-- transactions makes that join ~20x smaller (see docs/semantic_layer.md). On Postgres the join
-- also needs the expression index of c360.day_range_index.
{{ config(post_hook="{{ c360.day_range_index(this, 'spend_date') }}") }}

with

transactions as (

    select * from {{ ref('transactions') }}

),

final as (

    select
        transaction_date as spend_date,
        category,
        category_slug,
        sum(amount) as amount,
        count(distinct order_id) as order_count,
        sum(item_count) as items_sold

    from transactions
    group by transaction_date, category, category_slug

)

select * from final
