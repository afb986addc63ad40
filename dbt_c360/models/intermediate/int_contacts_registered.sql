-- The register of every contact ever seen in a CRM export, as the SHA-256 of its contact_id
-- (`contact_key`; the register itself holds no id or profile). A contact whose key is here but
-- who is gone from the current export was erased (int_contacts_erased): its rows are dropped
-- everywhere on the next build. Incremental and never rebuilt by --full-refresh
-- (full_refresh: false): a rebuild from the current export would forget who was erased, and
-- their transactions would come back as orphans in quality.quarantined_transactions.
{{
    config(
        materialized='incremental',
        unique_key='contact_key',
        incremental_strategy='merge',
        full_refresh=false,
        on_schema_change='fail',
    )
}}

with

contacts as (

    select * from {{ ref('stg_salesforce__contacts') }}

),

keys as (

    select distinct {{ c360.sha256_hex('contact_id') }} as contact_key
    from contacts
    where contact_id is not null

),

final as (

    select keys.contact_key
    from keys
    {% if is_incremental() %}
        where keys.contact_key not in (select registered.contact_key from {{ this }} as registered)
    {% endif %}

)

select * from final
