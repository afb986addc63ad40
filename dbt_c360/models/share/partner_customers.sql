{#-
    One row per customer, safe to hand to a partner. Generated from the meta.pii / meta.share
    classification of marts.customers (see docs/pii_sharing.md): direct identifiers dropped,
    customer_id replaced by the salted partner_key, every other released value generalised
    (spend and order count as bands, dates as 'YYYY-MM'), then generalised further until every
    whole released record (all columns but partner_key) is shared by at least
    var('k_anonymity') customers; the remaining rows are suppressed.
-#}
{{
    config(
        enabled=var('share_build', false) in (true, 'true'),
        pre_hook="{{ c360.share_drop_retired_relations() }}",
    )
}}

with

customers as (

    select * from {{ ref('customers') }}

),

generalised as (

    {{ share_select_columns('customers', 'customers') }}

),

{{ share_k_anonymity_ctes('customers', 'generalised', 'k_anonymous') }}

final as (

    select * from k_anonymous

)

select * from final
