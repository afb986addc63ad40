-- One row per version of a customer's RFM segment in snapshots.customer_segments_snapshot (SCD
-- type 2): the segment and scores as the builds computed them, and the time range each was the
-- latest build's answer. Behind the semantic model customer_segment_versions, so spend by
-- segment for a past period uses the segment the customer had, as of the builds, at that time.
--
-- Validity: a version is valid from the snapshot run (build) that first computed it up to the
-- run that computed a change or no longer saw the customer (dbt_valid_from/dbt_valid_to, UTC).
-- No build is known before the first snapshot, so each customer's first version is assumed to
-- have held since the start of time (valid_from = 1900-01-01), as in marts.customer_versions.
-- Erased people have no version here: the snapshot's post-hook deleted them.

with

snapshot as (

    select * from {{ ref('customer_segments_snapshot') }}

),

numbered as (

    select
        dbt_scd_id,
        customer_id,
        rfm_segment,
        recency_score,
        frequency_score,
        monetary_score,
        as_of_date,
        dbt_valid_from,
        dbt_valid_to,
        row_number() over (partition by customer_id order by dbt_valid_from) as version_number

    from snapshot

),

final as (

    select
        dbt_scd_id as customer_segment_version_id,
        customer_id,
        version_number,
        rfm_segment,
        recency_score,
        frequency_score,
        monetary_score,
        as_of_date as computed_as_of_date,
        {{ c360.snapshot_version_validity() }}

    from numbered

)

select * from final
