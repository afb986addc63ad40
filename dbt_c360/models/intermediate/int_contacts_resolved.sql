-- Clean contacts, one row per person: customer_id = contact_id, or contact_id || '~' || n
-- (n = 1.. by source file and row) when several different people share the contact_id.
with

validated as (

    select * from {{ ref('int_contacts_validated') }}

),

clean as (

    select * from validated
    where not is_exact_duplicate and reason is null

),

final as (

    select
        case
            when has_identity_conflict
                then {{ dbt.concat([
                    'contact_id', "'~'", 'cast(identity_record_number as ' ~ dbt.type_string() ~ ')'
                ]) }}
            else contact_id
        end as customer_id,
        contact_id,
        username,
        full_name,
        gender,
        email,
        address,
        birth_date,
        has_identity_conflict,
        loaded_at,
        _source_file,
        _source_row_number

    from clean

)

select * from final
