{#-
    (Not named `safe_cast`: a root-project macro of that name would shadow dbt's own
    safe_cast, which dbt's unit-test fixtures call on non-text values.)
    Cast text to a numeric type without ever raising: null when the trimmed text is not a
    plain number (see safe_cast_text_pattern: the same inputs are accepted on every engine) or does
    not fit. `type`: integer, bigint, numeric(p,s)/decimal(p,s), numeric, double.
    Use safe_to_date / as_timestamp_utc for dates and timestamps.
-#}
{% macro safe_cast_text(expr, type) -%}
    {{ return(adapter.dispatch('safe_cast_text', 'c360')(expr, type)) }}
{%- endmacro %}

{#- Portable fallback: the regex guard makes a plain cast safe. -#}
{% macro default__safe_cast_text(expr, type) -%}
    case
        when {{ c360.matches_regex('trim(' ~ expr ~ ')', c360.safe_cast_text_pattern(type)) }}
            then cast(trim({{ expr }}) as {{ type }})
    end
{%- endmacro %}

{#- DuckDB: try_cast also absorbs anything the guard lets through (belt and braces). -#}
{% macro duckdb__safe_cast_text(expr, type) -%}
    case
        when {{ c360.matches_regex('trim(' ~ expr ~ ')', c360.safe_cast_text_pattern(type)) }}
            then try_cast(trim({{ expr }}) as {{ type }})
    end
{%- endmacro %}

{#- Postgres: no try_cast and a failed cast aborts the query; the guard's digit counts keep
    the value inside the type, so the plain cast cannot raise. -#}
{% macro postgres__safe_cast_text(expr, type) -%}
    case
        when {{ c360.matches_regex('trim(' ~ expr ~ ')', c360.safe_cast_text_pattern(type)) }}
            then cast(trim({{ expr }}) as {{ type }})
    end
{%- endmacro %}

{#- Spark: try_cast returns null instead of failing under ANSI mode. -#}
{% macro spark__safe_cast_text(expr, type) -%}
    case
        when {{ c360.matches_regex('trim(' ~ expr ~ ')', c360.safe_cast_text_pattern(type)) }}
            then try_cast(trim({{ expr }}) as {{ type }})
    end
{%- endmacro %}
