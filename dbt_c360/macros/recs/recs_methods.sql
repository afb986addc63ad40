{#-
    The methods the recommender can serve, in order of preference when validation scores tie:
    the model first, then the baselines (see next_best_category_validation).
-#}
{% macro recs_methods() -%}
    {{ return(adapter.dispatch('recs_methods', 'c360')()) }}
{%- endmacro %}

{% macro default__recs_methods() -%}
    {{ return(['model', 'cohort', 'popularity']) }}
{%- endmacro %}
