{#- Levenshtein edit distance between two strings (null when either is null). -#}
{% macro edit_distance(left, right) -%}
    {{ return(adapter.dispatch('edit_distance', 'c360')(left, right)) }}
{%- endmacro %}

{#- Portable fallback: most engines name it levenshtein(a, b). -#}
{% macro default__edit_distance(left, right) -%}
    levenshtein({{ left }}, {{ right }})
{%- endmacro %}

{#- DuckDB: built-in levenshtein (same name, built in, no extension needed). -#}
{% macro duckdb__edit_distance(left, right) -%}
    levenshtein({{ left }}, {{ right }})
{%- endmacro %}

{#- Postgres: levenshtein comes from the fuzzystrmatch extension (created by the
    on-run-start hook ensure_edit_distance_support); inputs are limited to 255 characters,
    longer ones yield null rather than an error. -#}
{% macro postgres__edit_distance(left, right) -%}
    case
        when length({{ left }}) <= 255 and length({{ right }}) <= 255
            then levenshtein({{ left }}, {{ right }})
    end
{%- endmacro %}

{#- Spark: built-in levenshtein(str1, str2). -#}
{% macro spark__edit_distance(left, right) -%}
    levenshtein({{ left }}, {{ right }})
{%- endmacro %}
