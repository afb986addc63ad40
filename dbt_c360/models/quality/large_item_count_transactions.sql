-- Clean transactions with an item_count above var('large_item_count_threshold'): flagged for a
-- data steward (a typo'd quantity, a wholesale order), not dropped; they stay in the marts.
with

cleaned as (

    select * from {{ ref('int_transactions_cleaned') }}

),

final as (

    select
        transaction_id,
        order_id,
        customer_id,
        transaction_at,
        amount,
        item_count,
        category,
        {{ var('large_item_count_threshold') | int }} as large_item_count_threshold

    from cleaned
    where item_count > {{ var('large_item_count_threshold') | int }}

)

select * from final
