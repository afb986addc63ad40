-- One row per version of a customer's profile in snapshots.contacts_snapshot (SCD type 2),
-- without PII: the state (c360.address_state, the definition of marts.customers) and the gender
-- each version held, and the time range it was valid. Behind the semantic model
-- customer_versions, so spend by state for a past period uses the state of the time.
--
-- Validity: a version is valid from the snapshot run that first saw it up to the run that saw
-- it change or disappear (dbt_valid_from/dbt_valid_to, UTC). Nothing is known before the first
-- snapshot, so each customer's first version is assumed to have held since the start of time
-- (valid_from = 1900-01-01): transactions older than the first snapshot get the first profile
-- we saw. Erased people have no version here: the snapshot's post-hook deleted them.

with

snapshot as (

    select * from {{ ref('contacts_snapshot') }}

),

numbered as (

    select
        dbt_scd_id,
        customer_id,
        gender,
        address,
        dbt_valid_from,
        dbt_valid_to,
        row_number() over (partition by customer_id order by dbt_valid_from) as version_number

    from snapshot

),

final as (

    select
        dbt_scd_id as customer_version_id,
        customer_id,
        version_number,
        {{ c360.address_state('address') }} as state,
        gender,
        {{ c360.snapshot_version_validity() }}

    from numbered

)

select * from final
