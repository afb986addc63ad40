-- Scored contact pairs at or above the review floor (c360/identity/step.py): match weight and
-- probability, whether they were accepted as one person and by which rule, and one agreement
-- level per field (-1 missing, 0 disagree, higher = closer; agreeing_fields = exact agreements).
{%- set pairs = source('identity', 'contact_pairs') %}

with

{% if c360.relation_exists(pairs) %}
source as (

    select * from {{ pairs }}

),
{% else %}
source as (

    select
        cast(null as {{ dbt.type_string() }}) as contact_id_l,
        cast(null as {{ dbt.type_string() }}) as contact_id_r,
        cast(null as {{ dbt.type_float() }}) as match_weight,
        cast(null as {{ dbt.type_float() }}) as match_probability,
        cast(null as {{ dbt.type_boolean() }}) as is_match,
        cast(null as {{ dbt.type_string() }}) as matched_by,
        cast(null as {{ dbt.type_string() }}) as agreeing_fields,
        cast(null as {{ dbt.type_int() }}) as first_name_level,
        cast(null as {{ dbt.type_int() }}) as surname_level,
        cast(null as {{ dbt.type_int() }}) as email_level,
        cast(null as {{ dbt.type_int() }}) as birth_date_level,
        cast(null as {{ dbt.type_int() }}) as address_level,
        cast(null as {{ dbt.type_int() }}) as gender_level
    where 1 = 0

),
{% endif %}

renamed as (

    select
        contact_id_l,
        contact_id_r,
        match_weight,
        match_probability,
        is_match,
        matched_by,
        agreeing_fields,
        first_name_level,
        surname_level,
        email_level,
        birth_date_level,
        address_level,
        gender_level

    from source

)

select * from renamed
