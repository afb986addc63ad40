{#- Capture group `group` of the first match of `pattern` (a SQL string literal) in `expr`;
    null when there is no match. -#}
{% macro regex_extract(expr, pattern, group=1) -%}
    {{ return(adapter.dispatch('regex_extract', 'c360')(expr, pattern, group)) }}
{%- endmacro %}

{#- Portable fallback: regexp_extract(str, pattern, group) (DuckDB/Spark naming), '' -> null. -#}
{% macro default__regex_extract(expr, pattern, group) -%}
    nullif(regexp_extract({{ expr }}, {{ pattern }}, {{ group }}), '')
{%- endmacro %}

{#- DuckDB: regexp_extract returns '' when nothing matches. -#}
{% macro duckdb__regex_extract(expr, pattern, group) -%}
    nullif(regexp_extract({{ expr }}, {{ pattern }}, {{ group }}), '')
{%- endmacro %}

{#- Postgres: no regexp_extract; regexp_match returns the capture groups as an array (null when no match). -#}
{% macro postgres__regex_extract(expr, pattern, group) -%}
    (regexp_match({{ expr }}, {{ pattern }}))[{{ group }}]
{%- endmacro %}

{#- Spark: regexp_extract (Java regex) returns '' when nothing matches. -#}
{% macro spark__regex_extract(expr, pattern, group) -%}
    nullif(regexp_extract({{ expr }}, {{ pattern }}, {{ group }}), '')
{%- endmacro %}
