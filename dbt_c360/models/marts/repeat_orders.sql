-- One row per order of a purchasing customer, numbered in time order (1 = first order). Every row
-- carries the customer's first order time (first_order_at); repeat_order_at is the order's time on
-- the second and later orders and null on the first. MetricFlow's conversion metrics
-- (second_purchase_within_*_rate) read first_order_at as the base event time and repeat_order_at
-- as the conversion event time: a filter on the conversion side of a conversion metric is
-- ignored (dbt-labs/metricflow#1199), so the event kind is carried by the columns, not a filter.
with

transactions as (

    select * from {{ ref('transactions') }}

),

orders as (

    select
        order_id,
        customer_id,
        min(transaction_at) as ordered_at,
        sum(amount) as order_amount

    from transactions
    group by order_id, customer_id

),

numbered as (

    select
        orders.*,
        row_number() over (
            partition by orders.customer_id
            order by orders.ordered_at, {{ c360.binary_sort_key('orders.order_id') }}
        ) as order_number,
        min(orders.ordered_at) over (partition by orders.customer_id) as first_order_at

    from orders

),

final as (

    select
        order_id,
        customer_id,
        ordered_at,
        order_amount,
        order_number,
        first_order_at,
        order_number = 1 as is_first_order,
        case when order_number >= 2 then ordered_at end as repeat_order_at

    from numbered

)

select * from final
