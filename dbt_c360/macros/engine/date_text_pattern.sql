{#- The raw feeds' date format as a SQL regex literal: 'YYYY-MM-DD' with year 0001-9999
    (year 0000 exists on DuckDB but not on Postgres/Spark, so it is rejected everywhere).
    Engine-neutral, so not dispatched. -#}
{% macro date_text_pattern() -%}
    '(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{2}-[0-9]{2}'
{%- endmacro %}
