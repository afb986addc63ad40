-- Raw contact rows kept out of the marts, as loaded, with the primary reason.
with

validated as (

    select * from {{ ref('int_contacts_validated') }}

),

final as (

    select
        raw_id as id,
        raw_username as username,
        raw_name as name,  -- noqa: RF04
        raw_gender as gender,
        raw_address as address,
        raw_mail as mail,
        raw_birthdate as birthdate,
        raw_loaded_at_utc as _loaded_at_utc,
        _source_file,
        _source_row_number,
        reason

    from validated
    where reason is not null

)

select * from final
