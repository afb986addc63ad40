{#-
    True when the oracle's lists (source recs_model.oracle_lists, written by `make build` and
    `make eval-recs` on generated data whose generator manifest is known, c360/recs/step.py)
    exist in the warehouse: next_best_category_evaluation then has method = 'oracle' rows (the
    ceiling). False at parse time and on a warehouse of own data.
-#}
{% macro recs_oracle_lists_exist() -%}
    {{ return(adapter.dispatch('recs_oracle_lists_exist', 'c360')()) }}
{%- endmacro %}

{% macro default__recs_oracle_lists_exist() -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set lists = source('recs_model', 'oracle_lists') -%}
    {%- set relation = adapter.get_relation(database=lists.database, schema=lists.schema, identifier=lists.identifier) -%}
    {{ return(relation is not none) }}
{%- endmacro %}
