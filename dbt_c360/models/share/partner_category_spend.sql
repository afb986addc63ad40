{#-
    Spend per customer and category for the customers delivered in partner_customers,
    generated from the classification of marts.customer_category_spend: customer_id becomes the
    same salted partner_key, purchase timestamps are truncated to months. Customers suppressed
    for k-anonymity in partner_customers are left out here too.
-#}
{{ config(enabled=var('share_build', false) in (true, 'true')) }}

with

customer_category_spend as (

    select * from {{ ref('customer_category_spend') }}

),

partner_customers as (

    select * from {{ ref('partner_customers') }}

),

pseudonymised as (

    {{ share_select_columns('customer_category_spend', 'customer_category_spend') }}

),

final as (

    select pseudonymised.*
    from pseudonymised
    where pseudonymised.partner_key in (select partner_customers.partner_key from partner_customers)

)

select * from final
