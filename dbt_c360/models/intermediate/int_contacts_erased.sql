-- Contacts erased from the CRM (right to erasure): registered in an earlier export
-- (int_contacts_registered) and absent from the current one, as the SHA-256 of the contact_id.
-- Their transactions are dropped from every mart, quality table and share (counted as
-- `erased_rows` in quality.row_conservation) and their snapshot versions are deleted.
with

registered as (

    select * from {{ ref('int_contacts_registered') }}

),

contacts as (

    select * from {{ ref('stg_salesforce__contacts') }}

),

current_keys as (

    select distinct {{ c360.sha256_hex('contact_id') }} as contact_key
    from contacts
    where contact_id is not null

),

final as (

    select registered.contact_key
    from registered
    left join current_keys
        on registered.contact_key = current_keys.contact_key
    where current_keys.contact_key is null

)

select * from final
