-- Raw transaction rows kept out of the marts, as loaded, with the primary reason.
with

validated as (

    select * from {{ ref('int_transactions_validated') }}

),

final as (

    select
        raw_contact_id as contact_id,
        raw_id as id,
        raw_transaction_date as transaction_date,
        raw_amount as amount,
        raw_item_count as item_count,
        raw_category as category,
        raw_order_id as order_id,
        raw_loaded_at_utc as _loaded_at_utc,
        _source_file,
        _source_row_number,
        reason

    from validated
    where reason is not null

)

select * from final
