-- Every raw contact row with its fate: collapsed exact duplicate, quarantined (with one
-- primary `reason`), or clean. Precedence (first match wins):
--   exact duplicate of an earlier row (all business columns equal) -> collapsed, not quarantined
--   missing_contact_id -> invalid_loaded_at -> invalid_birthdate -> implausible_birthdate
-- Identity conflicts (one contact_id, several different people) are flagged, not quarantined.
with

contacts as (

    select * from {{ ref('stg_salesforce__contacts') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by
                raw_id, raw_username, raw_name, raw_gender, raw_address, raw_mail, raw_birthdate
            order by loaded_at nulls last, _source_file, _source_row_number
        ) as exact_duplicate_rank

    from contacts

),

flagged as (

    select
        *,
        exact_duplicate_rank > 1 as is_exact_duplicate,
        case
            when exact_duplicate_rank > 1 then null
            when contact_id is null then 'missing_contact_id'
            when loaded_at is null then 'invalid_loaded_at'
            when raw_birthdate is not null and trim(raw_birthdate) <> '' and birth_date is null
                then 'invalid_birthdate'
            when
                birth_date < cast('1900-01-01' as date)
                or birth_date > cast(loaded_at as date)
                then 'implausible_birthdate'
        end as reason

    from ranked

),

-- Distinct records sharing a contact_id (quarantined ones included: their transactions
-- cannot be attributed safely either).
id_counts as (

    select
        contact_id,
        count(*) as records_with_id

    from flagged
    where not is_exact_duplicate and contact_id is not null
    group by contact_id

),

final as (

    select
        flagged.*,
        coalesce(id_counts.records_with_id, 0) > 1 as has_identity_conflict,
        case
            when not flagged.is_exact_duplicate and flagged.contact_id is not null
                then row_number() over (
                    partition by flagged.contact_id, flagged.is_exact_duplicate
                    order by flagged._source_file, flagged._source_row_number
                )
        end as identity_record_number

    from flagged
    left join id_counts
        on flagged.contact_id = id_counts.contact_id

)

select * from final
