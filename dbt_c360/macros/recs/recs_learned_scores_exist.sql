{#-
    True when the learned recommender's scores (source recs_model.lightgbm_scores, written by
    `python -m c360.recs.model`) exist in the warehouse and var('recs_use_lightgbm', true) is
    on: then 'lightgbm' is a candidate method (recs_methods). False at parse time.
-#}
{% macro recs_learned_scores_exist() -%}
    {#- source() only at run time, as before: at parse time the models calling this do not depend on it -#}
    {%- if not execute or not var('recs_use_lightgbm', true) -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(c360.relation_exists(source('recs_model', 'lightgbm_scores'))) }}
{%- endmacro %}
