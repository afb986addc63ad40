{#-
    True when `relation` exists in the warehouse; false at parse time. For the optional sources
    that Python steps of `make build` write (identity.*, recs_model.*): a plain `dbt build`
    has none of them, and the models that read them then read an empty, typed stand-in.
-#}
{% macro relation_exists(relation) %}
    {{ return(adapter.dispatch('relation_exists', 'c360')(relation)) }}
{% endmacro %}

{% macro default__relation_exists(relation) %}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) -%}
    {{ return(found is not none) }}
{% endmacro %}
