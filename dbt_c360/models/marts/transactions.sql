-- One row per valid transaction. Incremental: a run re-reads rows loaded within
-- var('lookback_days') of the newest loaded_at already published (late-arriving rows) and rows
-- of contacts loaded in that window (an orphan becomes valid when its contact arrives), then
-- merges on transaction_id. Rows that become invalid later (e.g. a new identity conflict)
-- need a --full-refresh; see docs/warehouse.md. Rows whose person key changed (a new record
-- joined their person with a smaller id, docs/identity.md) are re-read and replaced too.
-- meta time_grain_statistics: on Postgres the analyze post-hook first adds expression
-- statistics per metric_time grain on transaction_at (c360.analyze_table, c360.postgres_time_grain_statistics).
{{
    config(
        materialized='incremental',
        unique_key='transaction_id',
        incremental_strategy='merge',
        on_schema_change='fail',
        meta={'time_grain_statistics': 'transaction_at'},
    )
}}

with

validated as (

    select * from {{ ref('int_transactions_validated') }}
    where not is_exact_duplicate and reason is null

),

-- every member id of a person rolls up to the person key (identity step, docs/identity.md)
clusters as (

    select * from {{ ref('stg_identity__contact_clusters') }}

),

{%- if var('identity_resolution', true) %}
{%- set customer_key = 'coalesce(clusters.person_id, validated.contact_id)' %}
{%- else %}
{%- set customer_key = 'validated.contact_id' %}
{%- endif %}

{% if is_incremental() %}
published as (

    select
        transaction_id,
        customer_id
    from {{ this }}

),

watermark as (

    select {{ dbt.dateadd('day', -(var('lookback_days') | int), 'max(loaded_at)') }} as reload_from
    from {{ this }}

),
{% endif %}

final as (

    -- noqa: ST06 is for the contract's column order (transaction_id, order_id, ...)
    select  -- noqa: ST06
        validated.transaction_id,
        -- the order a line belongs to; without an order_id each transaction is its own order
        coalesce(validated.order_id, validated.transaction_id) as order_id,
        {{ customer_key }} as customer_id,
        validated.transaction_at,
        cast(validated.transaction_at as date) as transaction_date,
        validated.amount,
        validated.item_count,
        validated.category,
        validated.category_slug,
        validated.loaded_at

    from validated
    left join clusters
        on validated.contact_id = clusters.contact_id
    {% if is_incremental() %}
    left join published
        on validated.transaction_id = published.transaction_id
    where validated.loaded_at >= (select reload_from from watermark)
        or validated.contact_loaded_at >= (select reload_from from watermark)
        or published.customer_id <> {{ customer_key }}
    {% endif %}

)

select * from final
