-- Contact ids shared by several different people: every clean record of such an id, with the
-- customer_id it was given. Their transactions are quarantined as ambiguous_contact_id.
with

customers as (

    select * from {{ ref('int_contacts_resolved') }}

),

final as (

    select
        contact_id,
        customer_id,
        username,
        full_name,
        email,
        _source_row_number

    from customers
    where has_identity_conflict

)

select * from final
