-- One row per customer and category they bought in.
with

transactions as (

    select * from {{ ref('transactions') }}

),

final as (

    select
        customer_id,
        category,
        category_slug,
        sum(amount) as amount,
        count(distinct order_id) as order_count,
        sum(item_count) as items_purchased,
        min(transaction_at) as first_purchase_at,
        max(transaction_at) as last_purchase_at

    from transactions
    group by customer_id, category, category_slug

)

select * from final
