-- The RFM segment and scores of each customer as this build computed them (marts.customers),
-- without PII: the input of snapshots.customer_segments_snapshot, which keeps one version per
-- change, so the history holds exactly what every build said. Ephemeral (no relation of its
-- own: it is inlined into the snapshot's query); it reads a mart on purpose, because the
-- snapshot must record the published segment, not a recomputation of it. Prospects are kept
-- (segment `Prospect`): a build that saw a contact without purchases did call it a prospect.
{{ config(materialized='ephemeral') }}

with

customers as (

    select * from {{ ref('customers') }}

),

final as (

    select
        customer_id,
        contact_id,
        rfm_segment,
        recency_score,
        frequency_score,
        monetary_score,
        as_of_date

    from customers

)

select * from final
