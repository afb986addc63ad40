-- Scored contact pairs at or above the review floor (c360/identity/step.py): match weight and
-- probability, whether they were accepted as one person and by which rule, and one agreement
-- level per field (-1 missing, 0 disagree, higher = closer; agreeing_fields = exact agreements).
{%- set pairs = source('identity', 'contact_pairs') %}
{%- set fields = ['first_name', 'surname', 'email', 'birth_date', 'address', 'gender'] %}

with

{% if c360.identity_relation_exists(pairs) %}
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
        {%- for field in fields %}
        cast(null as {{ dbt.type_int() }}) as {{ field }}_level{{ ',' if not loop.last }}
        {%- endfor %}
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
        {%- for field in fields %}
        {{ field }}_level{{ ',' if not loop.last }}
        {%- endfor %}

    from source

)

select * from renamed
