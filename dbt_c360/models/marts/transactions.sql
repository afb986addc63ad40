-- One row per valid transaction. Incremental and reconciled on every build, whatever the
-- sequence of loads: the pre-hook (c360.delete_rows_missing_from) deletes every row that no
-- longer has an identical row in int_transactions_cleaned (removed from the raw table, become
-- invalid, erased contact, changed in any column, reloaded with another load time), then the
-- run merges the clean rows whose transaction_id the table no longer holds (new or changed).
-- An empty table refills; no loaded_at watermark. meta time_grain_statistics: on Postgres the
-- analyze post-hook first adds expression statistics per metric_time grain on transaction_at
-- (c360.analyze_table, c360.postgres_time_grain_statistics).
{%- set fact_columns = [
    'transaction_id', 'order_id', 'customer_id', 'transaction_at', 'transaction_date',
    'amount', 'item_count', 'category', 'category_slug', 'loaded_at',
] %}
{{
    config(
        materialized='incremental',
        unique_key='transaction_id',
        incremental_strategy='merge',
        on_schema_change='fail',
        pre_hook=[
            "{{ c360.delete_rows_missing_from(this, ref('int_transactions_cleaned'), "
            ~ fact_columns | tojson ~ ") }}",
        ],
        meta={'time_grain_statistics': 'transaction_at'},
    )
}}

with

cleaned as (

    select * from {{ ref('int_transactions_cleaned') }}

),

final as (

    select cleaned.*
    from cleaned
    {% if is_incremental() %}
        -- after the pre-hook every remaining row equals a clean row: only new or changed rows are missing
        where not exists (
            select 1 from {{ this }} as published
            where published.transaction_id = cleaned.transaction_id
        )
    {% endif %}

)

select * from final
