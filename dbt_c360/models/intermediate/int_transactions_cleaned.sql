-- The clean transactions in the shape of marts.transactions: one row per valid transaction
-- (not erased, not a collapsed duplicate, not quarantined). A view, so the incremental fact
-- can compare itself with the current clean set on every build (its pre-hook
-- c360.delete_rows_missing_from) without a second copy of the data.
{{ config(materialized='view') }}

with

validated as (

    select * from {{ ref('int_transactions_validated') }}

),

final as (

    -- noqa: ST06 is for the contract's column order (transaction_id, order_id, ...)
    select  -- noqa: ST06
        transaction_id,
        -- the order a line belongs to; without an order_id each transaction is its own order
        coalesce(order_id, transaction_id) as order_id,
        contact_id as customer_id,
        transaction_at,
        cast(transaction_at as date) as transaction_date,
        amount,
        item_count,
        category,
        category_slug,
        loaded_at

    from validated
    where not is_erased and not is_exact_duplicate and reason is null

)

select * from final
