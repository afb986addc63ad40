-- For each orphan transaction (contact_id unknown), real customers whose contact_id is within
-- var('orphan_candidate_max_distance') edits: likely typos for a data steward to confirm.
-- Blocking: only pairs sharing the first 8 or the last 8 characters are compared (two
-- equi-joins instead of a cross join), so the cost stays linear at 1M contacts; a typo in both
-- the first and the last 8 characters is not proposed.
with

orphans as (

    select
        transaction_id,
        contact_id,
        substr(contact_id, 1, 8) as id_prefix,
        {{ dbt.right('contact_id', 8) }} as id_suffix

    from {{ ref('int_transactions_validated') }}
    where reason = 'orphan_contact_id'

),

customers as (

    select
        customer_id,
        contact_id,
        substr(contact_id, 1, 8) as id_prefix,
        {{ dbt.right('contact_id', 8) }} as id_suffix

    from {{ ref('int_contacts_resolved') }}
    where not has_identity_conflict

),

prefix_pairs as (

    select
        orphans.transaction_id,
        orphans.contact_id,
        customers.customer_id as candidate_customer_id,
        customers.contact_id as candidate_contact_id

    from orphans
    inner join customers
        on orphans.id_prefix = customers.id_prefix

),

suffix_pairs as (

    select
        orphans.transaction_id,
        orphans.contact_id,
        customers.customer_id as candidate_customer_id,
        customers.contact_id as candidate_contact_id

    from orphans
    inner join customers
        on orphans.id_suffix = customers.id_suffix

),

pairs as (

    select * from prefix_pairs
    union
    select * from suffix_pairs

),

scored as (

    select
        transaction_id,
        contact_id,
        candidate_customer_id,
        {{ c360.edit_distance('contact_id', 'candidate_contact_id') }} as edit_distance

    from pairs

),

final as (

    select * from scored
    where edit_distance <= {{ var('orphan_candidate_max_distance') | int }}

)

select * from final
