{#-
    SQL condition: the category in `column` may be recommended and evaluated, i.e. it is not in
    var('recs_excluded_categories') (default empty: every catalogue category). Use it for
    categories that are not products (coupons, fees, gift cards): the recommender ignores their
    purchases, never lists them and never counts them as a test event.
    Names are quoted as SQL string literals (single quotes doubled), so no var value is pasted
    into SQL as code.
-#}
{% macro recs_is_recommendable(column) -%}
    {{ return(adapter.dispatch('recs_is_recommendable', 'c360')(column)) }}
{%- endmacro %}

{% macro default__recs_is_recommendable(column) -%}
    {%- set excluded = var('recs_excluded_categories', []) -%}
    {%- if excluded is string -%}
        {%- set excluded = [excluded] -%}
    {%- endif -%}
    {%- if excluded | length == 0 -%}
        (1 = 1)
    {%- else -%}
        ({{ column }} not in (
            {%- for name in excluded -%}
                '{{ name | string | replace("'", "''") }}'{% if not loop.last %}, {% endif %}
            {%- endfor -%}
        ))
    {%- endif -%}
{%- endmacro %}
