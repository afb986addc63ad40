-- Nothing is lost: for each source, raw rows = clean rows + quarantined rows + collapsed exact
-- duplicates + erased rows (transactions of a contact erased from the CRM, int_contacts_erased;
-- always 0 for contacts: an erased contact has no raw row). Clean rows are counted in the
-- published models (customers / marts.transactions).
with

raw_contacts as (

    select count(*) as raw_rows from {{ ref('stg_salesforce__contacts') }}

),

contact_fates as (

    select
        sum(case when reason is not null then 1 else 0 end) as quarantined_rows,
        sum(case when is_exact_duplicate then 1 else 0 end) as collapsed_duplicate_rows

    from {{ ref('int_contacts_validated') }}

),

clean_contacts as (

    -- a customer is a person: count the clean records merged into each
    select sum(source_record_count) as clean_rows from {{ ref('customers') }}

),

raw_transactions as (

    select count(*) as raw_rows from {{ ref('stg_web__transactions') }}

),

transaction_fates as (

    select
        sum(case when reason is not null then 1 else 0 end) as quarantined_rows,
        sum(case when is_exact_duplicate then 1 else 0 end) as collapsed_duplicate_rows,
        sum(case when is_erased then 1 else 0 end) as erased_rows

    from {{ ref('int_transactions_validated') }}

),

clean_transactions as (

    select count(*) as clean_rows from {{ ref('transactions') }}

),

counts as (

    select
        'salesforce.contacts' as source,  -- noqa: RF04
        raw_contacts.raw_rows,
        clean_contacts.clean_rows,
        coalesce(contact_fates.quarantined_rows, 0) as quarantined_rows,
        coalesce(contact_fates.collapsed_duplicate_rows, 0) as collapsed_duplicate_rows,
        cast(0 as {{ dbt.type_bigint() }}) as erased_rows

    from raw_contacts
    cross join contact_fates
    cross join clean_contacts

    union all

    select
        'web.transactions' as source,  -- noqa: RF04
        raw_transactions.raw_rows,
        clean_transactions.clean_rows,
        coalesce(transaction_fates.quarantined_rows, 0) as quarantined_rows,
        coalesce(transaction_fates.collapsed_duplicate_rows, 0) as collapsed_duplicate_rows,
        coalesce(transaction_fates.erased_rows, 0) as erased_rows

    from raw_transactions
    cross join transaction_fates
    cross join clean_transactions

),

final as (

    select
        source,
        raw_rows,
        clean_rows,
        quarantined_rows,
        collapsed_duplicate_rows,
        erased_rows,
        raw_rows = clean_rows + quarantined_rows + collapsed_duplicate_rows + erased_rows as is_balanced

    from counts

)

select * from final
