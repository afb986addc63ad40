-- One row per contact id the identity step matched (c360/identity/step.py): its person key
-- (smallest member contact_id), cluster size and best match probability. Empty when the
-- warehouse was built without the step (plain `dbt build`): every contact is then its own person.
{%- set clusters = source('identity', 'contact_clusters') %}

with

{% if c360.relation_exists(clusters) %}
source as (

    select * from {{ clusters }}

),
{% else %}
source as (

    select
        cast(null as {{ dbt.type_string() }}) as contact_id,
        cast(null as {{ dbt.type_string() }}) as person_id,
        cast(null as {{ dbt.type_bigint() }}) as cluster_size,
        cast(null as {{ dbt.type_float() }}) as match_probability
    where 1 = 0

),
{% endif %}

renamed as (

    select
        contact_id,
        person_id,
        cast(cluster_size as {{ dbt.type_bigint() }}) as cluster_size,
        cast(match_probability as {{ dbt.type_float() }}) as match_probability

    from source

)

select * from renamed
