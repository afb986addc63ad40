-- One row per raw transaction row: typed with the safe-cast macros (null when a value cannot
-- be typed), raw text kept alongside for the quarantine. No rows are filtered here.
with

source as (

    select * from {{ source('web', 'transactions') }}

),

renamed as (

    select
        -- ids
        nullif(trim(id), '') as transaction_id,
        nullif(trim(contact_id), '') as contact_id,
        nullif(trim(order_id), '') as order_id,

        -- facts
        {{ c360.as_timestamp_utc('transaction_date') }} as transaction_at,
        {{ c360.safe_cast_text('amount', dbt.type_numeric()) }} as amount,
        {{ c360.safe_cast_text('item_count', 'integer') }} as item_count,
        nullif(trim(category), '') as category,

        -- lineage
        {{ c360.as_timestamp_utc('_loaded_at_utc') }} as loaded_at,
        _source_file,
        cast(_source_row_number as {{ dbt.type_bigint() }}) as _source_row_number,

        -- raw text, kept for the quarantine and the exact-duplicate check
        id as raw_id,
        contact_id as raw_contact_id,
        transaction_date as raw_transaction_date,
        amount as raw_amount,
        item_count as raw_item_count,
        category as raw_category,
        order_id as raw_order_id,
        _loaded_at_utc as raw_loaded_at_utc

    from source

)

select * from renamed
