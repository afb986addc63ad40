{#-
    True when the learned recommender's scores (source recs_model.lightgbm_scores, written by
    `python -m c360.recs.model`) exist in the warehouse and var('recs_use_lightgbm', true) is
    on: then 'lightgbm' is a candidate method (recs_methods). False at parse time.
-#}
{% macro recs_learned_scores_exist() -%}
    {{ return(adapter.dispatch('recs_learned_scores_exist', 'c360')()) }}
{%- endmacro %}

{% macro default__recs_learned_scores_exist() -%}
    {%- if not execute or not var('recs_use_lightgbm', true) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set scores = source('recs_model', 'lightgbm_scores') -%}
    {%- set relation = adapter.get_relation(database=scores.database, schema=scores.schema, identifier=scores.identifier) -%}
    {{ return(relation is not none) }}
{%- endmacro %}
