{#- True when the whole of `expr` matches the regular expression `pattern` (a SQL string literal). -#}
{% macro matches_regex(expr, pattern) -%}
    {{ return(adapter.dispatch('matches_regex', 'c360')(expr, pattern)) }}
{%- endmacro %}

{#- ANSI has no regex operator; SIMILAR TO is the closest portable form but its syntax differs,
    so the default assumes a POSIX `~` operator (Postgres-compatible warehouses). -#}
{% macro default__matches_regex(expr, pattern) -%}
    (({{ expr }}) ~ ({{ pattern }}))
{%- endmacro %}

{#- DuckDB: regexp_full_match anchors the pattern on the whole string. -#}
{% macro duckdb__matches_regex(expr, pattern) -%}
    regexp_full_match({{ expr }}, {{ pattern }})
{%- endmacro %}

{#- Postgres: `~` searches, so the pattern is anchored explicitly. -#}
{% macro postgres__matches_regex(expr, pattern) -%}
    (({{ expr }}) ~ ('^(?:' || {{ pattern }} || ')$'))
{%- endmacro %}

{#- Spark: RLIKE searches (Java regex), so the pattern is anchored explicitly. -#}
{% macro spark__matches_regex(expr, pattern) -%}
    (({{ expr }}) rlike concat('^(?:', {{ pattern }}, ')$'))
{%- endmacro %}
