-- The clean transactions in the shape of marts.transactions: one row per valid transaction
-- (not erased, not a collapsed duplicate, not quarantined). A view, so the incremental fact
-- can compare itself with the current clean set on every build (its pre-hook
-- c360.delete_rows_missing_from) without a second copy of the data. customer_id is the
-- person key (identity step, docs/identity.md): when a new record joins a person with a
-- smaller id, the rows of that person differ from the published ones and the fact replaces them.
{{ config(materialized='view') }}

with

validated as (

    select * from {{ ref('int_transactions_validated') }}

),

-- every member id of a person rolls up to the person key
clusters as (

    select * from {{ ref('stg_identity__contact_clusters') }}

),

{%- if var('identity_resolution', true) %}
{%- set customer_key = 'coalesce(clusters.person_id, validated.contact_id)' %}
{%- else %}
{%- set customer_key = 'validated.contact_id' %}
{%- endif %}

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
    where not validated.is_erased and not validated.is_exact_duplicate and validated.reason is null

)

select * from final
