-- One row per customer (a person: one or more clean contact records, int_contacts_resolved):
-- profile, purchase summary, spend per category (one
-- column per row of the product_categories seed), RFM scores and segment. Time-relative
-- columns (age, days_since_last_purchase, recency) are computed as of var('as_of_date'),
-- default: the latest valid transaction date (today when there is none).
{%- set category_slugs = c360.product_category_slugs() %}

with

contacts as (

    select * from {{ ref('int_contacts_resolved') }}

),

transactions as (

    select * from {{ ref('transactions') }}

),

as_of as (

    {{ c360.as_of_date('transactions') }}

),

customer_orders as (

    select
        customer_id,
        min(transaction_date) as first_purchase_date,
        max(transaction_date) as last_purchase_date,
        count(distinct order_id) as order_count,
        sum(item_count) as items_purchased,
        sum(amount) as total_spend,
        {%- for slug in category_slugs %}
        sum(case when category_slug = '{{ slug }}' then amount else 0 end) as {{ slug }}_amount,
        {%- endfor %}
        max(loaded_at) as last_transaction_loaded_at

    from transactions
    group by customer_id

),

joined as (

    select
        contacts.customer_id,
        contacts.contact_id,
        contacts.username,
        contacts.full_name,
        contacts.gender,
        contacts.email,
        contacts.address,
        contacts.birth_date,
        contacts.has_identity_conflict,
        contacts.source_contact_ids,
        contacts.source_record_count,
        contacts.match_confidence,
        contacts.loaded_at,
        as_of.as_of_date,
        {{ c360.age_in_years('contacts.birth_date', 'as_of.as_of_date') }} as age,
        customer_orders.first_purchase_date,
        customer_orders.last_purchase_date,
        coalesce(customer_orders.order_count, 0) as order_count,
        coalesce(customer_orders.items_purchased, 0) as items_purchased,
        coalesce(customer_orders.total_spend, 0) as total_spend,
        {%- for slug in category_slugs %}
        coalesce(customer_orders.{{ slug }}_amount, 0) as {{ slug }}_amount,
        {%- endfor %}
        {{ dbt.datediff('customer_orders.last_purchase_date', 'as_of.as_of_date', 'day') }}
            as days_since_last_purchase

    from contacts
    cross join as_of
    left join customer_orders
        on contacts.customer_id = customer_orders.customer_id

),

-- Quintiles among customers with purchases (c360.rfm_scores, shared with
-- marts.customer_monthly_states so the two never differ).
scored as (

    select
        customer_id,
        {{ c360.rfm_scores('days_since_last_purchase', 'order_count', 'total_spend', 'customer_id') }}

    from joined
    where order_count > 0

),

final as (

    select
        joined.customer_id,
        joined.contact_id,
        joined.username,
        joined.full_name,
        joined.gender,
        joined.email,
        joined.address,
        {{ c360.address_state('joined.address') }} as state,
        {{ c360.regex_extract('joined.address', c360.address_pattern(), 2) }} as postcode,
        joined.birth_date,
        joined.age,
        case
            when joined.age is null then 'unknown'
            when joined.age < 18 then 'under 18'
            when joined.age <= 24 then '18-24'
            when joined.age <= 34 then '25-34'
            when joined.age <= 44 then '35-44'
            when joined.age <= 54 then '45-54'
            when joined.age <= 64 then '55-64'
            else '65+'
        end as age_band,
        joined.has_identity_conflict,
        joined.source_contact_ids,
        joined.source_record_count,
        joined.match_confidence,
        joined.first_purchase_date,
        joined.last_purchase_date,
        joined.order_count,
        joined.items_purchased,
        joined.total_spend,
        case
            when joined.order_count > 0 then joined.total_spend / joined.order_count
        end as average_order_value,
        joined.days_since_last_purchase,
        {%- for slug in category_slugs %}
        joined.{{ slug }}_amount,
        {%- endfor %}
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,
        {{ c360.rfm_segment('scored.recency_score', 'scored.frequency_score', 'scored.monetary_score') }}
            as rfm_segment,
        cast({{ dbt.date_trunc('month', 'joined.first_purchase_date') }} as date) as acquisition_month,
        joined.as_of_date,
        joined.loaded_at

    from joined
    left join scored
        on joined.customer_id = scored.customer_id

)

select * from final
