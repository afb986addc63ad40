{#-
    The aggregate-only delivery: spend per RFM segment and category, no partner key and no
    per-person row. Cells with fewer than var('k_anonymity') customers are suppressed (minimum
    cell size); amounts are rounded to whole currency units.
-#}
{{ config(enabled=var('share_build', false) in (true, 'true')) }}

{%- set k = var('k_anonymity', 5) | int -%}

with

customers as (

    select * from {{ ref('customers') }}

),

customer_category_spend as (

    select * from {{ ref('customer_category_spend') }}

),

cells as (

    select
        customers.rfm_segment,
        customer_category_spend.category,
        customer_category_spend.category_slug,
        count(distinct customer_category_spend.customer_id) as customer_count,
        round(sum(customer_category_spend.amount)) as total_amount,
        sum(customer_category_spend.order_count) as order_count,
        sum(customer_category_spend.items_purchased) as items_purchased
    from customer_category_spend
    inner join customers
        on customer_category_spend.customer_id = customers.customer_id
    group by
        customers.rfm_segment,
        customer_category_spend.category,
        customer_category_spend.category_slug

),

final as (

    select * from cells
    where customer_count >= {{ k }}

)

select * from final
