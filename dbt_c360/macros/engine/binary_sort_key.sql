{#- `expr` as an ORDER BY key that sorts by code point on every engine, so tie-breaks on text
    ids (RFM ntiles, customer_id numbering) give the same result everywhere. -#}
{% macro binary_sort_key(expr) -%}
    {{ return(adapter.dispatch('binary_sort_key', 'c360')(expr)) }}
{%- endmacro %}

{#- Portable fallback: the engine's default ordering. -#}
{% macro default__binary_sort_key(expr) -%}
    {{ expr }}
{%- endmacro %}

{#- DuckDB: text sorts by code point by default. -#}
{% macro duckdb__binary_sort_key(expr) -%}
    {{ expr }}
{%- endmacro %}

{#- Postgres: the database collation (e.g. en_US.UTF-8) ignores hyphens at the first level,
    which reorders UUIDs; the "C" collation sorts by byte. -#}
{% macro postgres__binary_sort_key(expr) -%}
    ({{ expr }}) collate "C"
{%- endmacro %}

{#- Spark: strings compare as UTF-8 bytes by default. -#}
{% macro spark__binary_sort_key(expr) -%}
    {{ expr }}
{%- endmacro %}
