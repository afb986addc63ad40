-- One row per raw contact row: typed with the safe-cast macros (null when a value cannot be
-- typed), raw text kept alongside for the quarantine. No rows are filtered here.
with

source as (

    select * from {{ source('salesforce', 'contacts') }}

),

renamed as (

    select
        -- ids
        nullif(trim(id), '') as contact_id,

        -- profile
        nullif(trim(username), '') as username,
        nullif(trim(name), '') as full_name,
        upper(nullif(trim(gender), '')) as gender,
        lower(nullif(trim(mail), '')) as email,
        nullif(trim(address), '') as address,
        {{ c360.safe_to_date('birthdate') }} as birth_date,

        -- lineage
        {{ c360.as_timestamp_utc('_loaded_at_utc') }} as loaded_at,
        _source_file,
        cast(_source_row_number as {{ dbt.type_bigint() }}) as _source_row_number,

        -- raw text, kept for the quarantine and the exact-duplicate check
        id as raw_id,
        username as raw_username,
        name as raw_name,
        gender as raw_gender,
        address as raw_address,
        mail as raw_mail,
        birthdate as raw_birthdate,
        _loaded_at_utc as raw_loaded_at_utc

    from source

)

select * from renamed
