-- One row per customer per month end, from the month of the customer's first purchase to the
-- build's as-of month: the customer's state as it was at that month end (the as-of date for the
-- current, partial month): orders and spend to date, last purchase, recency in days, RFM scores
-- and segment. Scores are quintiles among the customers who had purchased by that month end
-- (c360.rfm_scores, the scoring of marts.customers), so the as-of month equals marts.customers
-- and past months carry the segments customers had then.
with

transactions as (

    select * from {{ ref('transactions') }}

),

time_spine as (

    select * from {{ ref('metricflow_time_spine') }}

),

spine_days as (

    select
        date_day,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start

    from time_spine

),

-- Each month of the time spine with its state date: the month's last day, or the as-of date
-- for the as-of month (the spine ends on it).
months as (

    select
        month_start,
        max(date_day) as month_end

    from spine_days
    group by month_start

),

orders as (

    select
        customer_id,
        order_id,
        min(transaction_date) as order_date

    from transactions
    group by customer_id, order_id

),

order_months as (

    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as month_start

    from orders

),

monthly_orders as (

    select
        customer_id,
        month_start,
        count(*) as order_count

    from order_months
    group by customer_id, month_start

),

transaction_months as (

    select
        customer_id,
        transaction_date,
        amount,
        cast({{ dbt.date_trunc('month', 'transaction_date') }} as date) as month_start

    from transactions

),

monthly_spend as (

    select
        customer_id,
        month_start,
        sum(amount) as spend,
        max(transaction_date) as last_purchase_date

    from transaction_months
    group by customer_id, month_start

),

first_months as (

    select
        customer_id,
        min(month_start) as first_month

    from monthly_spend
    group by customer_id

),

customer_months as (

    select
        first_months.customer_id,
        months.month_start,
        months.month_end

    from first_months
    inner join months
        on first_months.first_month <= months.month_start

),

to_date as (

    select
        customer_months.customer_id,
        customer_months.month_start,
        customer_months.month_end,
        sum(coalesce(monthly_orders.order_count, 0)) over (
            partition by customer_months.customer_id
            order by customer_months.month_start
            rows between unbounded preceding and current row
        ) as order_count_to_date,
        sum(coalesce(monthly_spend.spend, 0)) over (
            partition by customer_months.customer_id
            order by customer_months.month_start
            rows between unbounded preceding and current row
        ) as spend_to_date,
        max(monthly_spend.last_purchase_date) over (
            partition by customer_months.customer_id
            order by customer_months.month_start
            rows between unbounded preceding and current row
        ) as last_purchase_date

    from customer_months
    left join monthly_orders
        on
            customer_months.customer_id = monthly_orders.customer_id
            and customer_months.month_start = monthly_orders.month_start
    left join monthly_spend
        on
            customer_months.customer_id = monthly_spend.customer_id
            and customer_months.month_start = monthly_spend.month_start

),

with_recency as (

    select
        *,
        -- noqa: LT05 is for dbt.datediff, which renders on one long line on DuckDB
        {{ dbt.datediff('last_purchase_date', 'month_end', 'day') }} as recency_days  -- noqa: LT05

    from to_date

),

scored as (

    select
        *,
        {{ c360.rfm_scores(
            'recency_days', 'order_count_to_date', 'spend_to_date', 'customer_id', partition_by='month_end'
        ) }}

    from with_recency

),

final as (

    select
        {{ dbt.concat([
            'scored.customer_id', "'|'", 'cast(scored.month_start as ' ~ dbt.type_string() ~ ')'
        ]) }} as customer_month_id,
        scored.customer_id,
        scored.month_start,
        scored.month_end,
        scored.month_end < {{ dbt.last_day('scored.month_start', 'month') }} as is_partial_month,
        scored.order_count_to_date,
        scored.spend_to_date,
        scored.last_purchase_date,
        scored.recency_days,
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,
        {{ c360.rfm_segment('scored.recency_score', 'scored.frequency_score', 'scored.monetary_score') }}
            as rfm_segment

    from scored

)

select * from final
