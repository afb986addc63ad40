{#-
    The methods the recommender can serve, in order of preference when validation scores tie:
    the SQL model first, then the learned model when its scores exist in the warehouse
    (recs_learned_scores_exist: 'lightgbm', scores written by `python -m c360.recs.model`),
    then the baselines (see next_best_category_validation).
-#}
{% macro recs_methods() -%}
    {{ return(adapter.dispatch('recs_methods', 'c360')()) }}
{%- endmacro %}

{% macro default__recs_methods() -%}
    {%- if c360.recs_learned_scores_exist() -%}
        {{ return(['model', 'lightgbm', 'cohort', 'popularity']) }}
    {%- endif -%}
    {{ return(['model', 'cohort', 'popularity']) }}
{%- endmacro %}
