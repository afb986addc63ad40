{#- True when the identity step's table `name` exists (plain `dbt build` runs have none). -#}
{% macro identity_relation_exists(relation) %}
    {{ return(adapter.dispatch('identity_relation_exists', 'c360')(relation)) }}
{% endmacro %}

{% macro default__identity_relation_exists(relation) %}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) -%}
    {{ return(found is not none) }}
{% endmacro %}
