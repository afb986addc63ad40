-- first/last purchase dates, order_count (distinct orders) and total_spend of customers equal a fresh
-- aggregation of the transaction fact; first <= last.
with

customers as (

    select * from {{ ref('customers') }}

),

facts as (

    select
        customer_id,
        min(transaction_date) as first_purchase_date,
        max(transaction_date) as last_purchase_date,
        count(distinct order_id) as order_count,
        sum(amount) as total_spend

    from {{ ref('transactions') }}
    group by customer_id

)

select customers.customer_id
from customers
left join facts
    on customers.customer_id = facts.customer_id
where
    customers.first_purchase_date > customers.last_purchase_date
    or customers.first_purchase_date is distinct from facts.first_purchase_date
    or customers.last_purchase_date is distinct from facts.last_purchase_date
    or customers.order_count <> coalesce(facts.order_count, 0)
    or abs(customers.total_spend - coalesce(facts.total_spend, 0)) > 0.01
