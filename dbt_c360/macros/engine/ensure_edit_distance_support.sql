{#- SQL for the on-run-start hook that makes edit_distance() available. -#}
{% macro ensure_edit_distance_support() -%}
    {{ return(adapter.dispatch('ensure_edit_distance_support', 'c360')()) }}
{%- endmacro %}

{#- Engines with a built-in levenshtein need nothing: an empty hook. -#}
{% macro default__ensure_edit_distance_support() -%}
    select 1 as edit_distance_support
{%- endmacro %}

{#- DuckDB: levenshtein is built in. -#}
{% macro duckdb__ensure_edit_distance_support() -%}
    {{ c360.default__ensure_edit_distance_support() }}
{%- endmacro %}

{#- Postgres: levenshtein lives in the fuzzystrmatch extension (trusted, so the database
    owner may create it). -#}
{% macro postgres__ensure_edit_distance_support() -%}
    create extension if not exists fuzzystrmatch
{%- endmacro %}

{#- Spark: levenshtein is built in. -#}
{% macro spark__ensure_edit_distance_support() -%}
    {{ c360.default__ensure_edit_distance_support() }}
{%- endmacro %}
