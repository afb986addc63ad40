-- Every raw transaction row with its fate: erased (its contact was erased from the CRM,
-- int_contacts_erased: dropped, counted, never quarantined), collapsed exact duplicate,
-- quarantined (with one primary `reason`), or clean. Precedence (first match wins):
--   erased contact -> is_erased, no reason
--   exact duplicate of an earlier row (all business columns equal) -> collapsed, not quarantined
--   missing_transaction_id -> missing_contact_id -> invalid_loaded_at
--   -> invalid_transaction_date -> future_transaction_date (after its own load time or now)
--   -> invalid_amount -> non_positive_amount (amount < 0; also = 0 unless var allow_zero_amount)
--   -> invalid_item_count -> non_positive_item_count (item_count < 0; also = 0 unless var
--      allow_zero_item_count)
--   -> unknown_category (blank or not in the product_categories seed)
--   -> duplicate_transaction_id (an earlier valid row has the same id; the first one wins)
--   -> orphan_contact_id (no contact row with that id at all)
--   -> ambiguous_contact_id (the id belongs to an identity conflict: never attributed silently)
--   -> contact_quarantined (the only contact row with that id is quarantined)
{#- The validity switches (dbt vars, default false = the exercise's rule amount > 0, item_count > 0);
    true, "true" or 1 allow zero. -#}
{%- set allow_zero_amount = (var('allow_zero_amount') | string | lower) in ['true', '1'] -%}
{%- set allow_zero_item_count = (var('allow_zero_item_count') | string | lower) in ['true', '1'] %}

with

transactions as (

    select * from {{ ref('stg_web__transactions') }}

),

categories as (

    select * from {{ ref('product_categories') }}

),

contacts as (

    select * from {{ ref('int_contacts_validated') }}

),

erased as (

    select * from {{ ref('int_contacts_erased') }}

),

contact_ids as (

    select
        contact_id,
        max(case when reason is null then 1 else 0 end) as has_clean_record,
        max(case when has_identity_conflict then 1 else 0 end) as has_identity_conflict,
        max(loaded_at) as contact_loaded_at

    from contacts
    where not is_exact_duplicate and contact_id is not null
    group by contact_id

),

ranked as (

    select
        *,
        row_number() over (
            partition by
                raw_id, raw_contact_id, raw_transaction_date, raw_amount, raw_item_count, raw_category,
                raw_order_id
            order by loaded_at nulls last, _source_file, _source_row_number
        ) as exact_duplicate_rank

    from transactions

),

checked as (

    select
        ranked.*,
        categories.category_slug,
        contact_ids.has_clean_record,
        contact_ids.has_identity_conflict,
        contact_ids.contact_loaded_at,
        erased.contact_key is not null as is_erased,
        erased.contact_key is null and ranked.exact_duplicate_rank > 1 as is_exact_duplicate,
        case
            when erased.contact_key is not null then null
            when ranked.exact_duplicate_rank > 1 then null
            when ranked.transaction_id is null then 'missing_transaction_id'
            when ranked.contact_id is null then 'missing_contact_id'
            when ranked.loaded_at is null then 'invalid_loaded_at'
            when ranked.transaction_at is null then 'invalid_transaction_date'
            when
                ranked.transaction_at > ranked.loaded_at
                or ranked.transaction_at > {{ c360.current_timestamp_utc() }}
                then 'future_transaction_date'
            when ranked.amount is null then 'invalid_amount'
            when ranked.amount {{ '<' if allow_zero_amount else '<=' }} 0 then 'non_positive_amount'
            when ranked.item_count is null then 'invalid_item_count'
            when ranked.item_count {{ '<' if allow_zero_item_count else '<=' }} 0 then 'non_positive_item_count'
            when categories.category_slug is null then 'unknown_category'
        end as row_reason

    from ranked
    left join categories
        on ranked.category = categories.category_name
    left join contact_ids
        on ranked.contact_id = contact_ids.contact_id
    -- only a contact_id without any contact row can be erased
    left join erased
        on
            contact_ids.contact_id is null
            and erased.contact_key = {{ c360.sha256_hex('ranked.contact_id') }}

),

-- Among rows that are valid on their own, the first row of a transaction_id wins.
id_ranked as (

    select
        *,
        case
            when not is_erased and not is_exact_duplicate and row_reason is null
                then row_number() over (
                    partition by transaction_id, is_erased, is_exact_duplicate, row_reason
                    order by loaded_at nulls last, _source_file, _source_row_number
                )
        end as transaction_id_rank

    from checked

),

final as (

    select
        *,
        case
            when is_erased or is_exact_duplicate then null
            when row_reason is not null then row_reason
            when transaction_id_rank > 1 then 'duplicate_transaction_id'
            when has_clean_record is null then 'orphan_contact_id'
            when has_identity_conflict = 1 then 'ambiguous_contact_id'
            when has_clean_record = 0 then 'contact_quarantined'
        end as reason

    from id_ranked

)

select * from final
