-- Clean contacts, one row per person. customer_id = the person key of the identity step
-- (the smallest contact_id of the records matched as one person, docs/identity.md), else
-- contact_id; contact_id || '~' || n (n = 1.. by source file and row) when several different
-- people share the contact_id (identity conflicts are never merged). The profile columns come
-- from the record whose contact_id is the key (the smallest clean member id); the person's
-- records are listed in source_contact_ids. var('identity_resolution') false: one row per record.
with

validated as (

    select * from {{ ref('int_contacts_validated') }}

),

clusters as (

    select * from {{ ref('stg_identity__contact_clusters') }}

),

clean as (

    select * from validated
    where not is_exact_duplicate and reason is null

),

keyed as (

    select
        clean.*,
        case
            when clean.has_identity_conflict
                then {{ dbt.concat([
                    'clean.contact_id', "'~'", 'cast(clean.identity_record_number as ' ~ dbt.type_string() ~ ')'
                ]) }}
            {%- if var('identity_resolution', true) %}
            else coalesce(clusters.person_id, clean.contact_id)
            {%- else %}
            else clean.contact_id
            {%- endif %}
        end as customer_id,
        clusters.match_probability

    from clean
    left join clusters
        on clean.contact_id = clusters.contact_id and not clean.has_identity_conflict

),

members as (

    select
        customer_id,
        {{ dbt.listagg('contact_id', "','", 'order by contact_id') }} as source_contact_ids,
        count(*) as source_record_count,
        -- the weakest accepted link of a merged person; null for a one-record person
        case when count(*) > 1 then min(match_probability) end as match_confidence

    from keyed
    group by customer_id

),

representative as (

    select
        *,
        row_number() over (
            partition by customer_id
            order by contact_id, _source_file, _source_row_number
        ) as member_rank

    from keyed

),

final as (

    select
        representative.customer_id,
        representative.contact_id,
        representative.username,
        representative.full_name,
        representative.gender,
        representative.email,
        representative.address,
        representative.birth_date,
        representative.has_identity_conflict,
        members.source_contact_ids,
        members.source_record_count,
        members.match_confidence,
        representative.loaded_at,
        representative._source_file,
        representative._source_row_number

    from representative
    inner join members
        on representative.customer_id = members.customer_id
    where representative.member_rank = 1

)

select * from final
