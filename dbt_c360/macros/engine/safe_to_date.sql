{#-
    Text 'YYYY-MM-DD' -> date; null for null, blank, a different format or an impossible
    date (2023-02-30). Never raises, so one bad row cannot fail a model.
-#}
{% macro safe_to_date(expr) -%}
    {{ return(adapter.dispatch('safe_to_date', 'c360')(expr)) }}
{%- endmacro %}

{#- Portable fallback: regex guard, then a plain cast (engines whose cast errors need an override). -#}
{% macro default__safe_to_date(expr) -%}
    case
        when {{ c360.matches_regex('trim(' ~ expr ~ ')', c360.date_text_pattern()) }}
            then cast(trim({{ expr }}) as date)
    end
{%- endmacro %}

{#- DuckDB: try_cast returns null for impossible dates; the regex keeps the format strict
    (try_cast alone would also accept e.g. '2023-5-9'). -#}
{% macro duckdb__safe_to_date(expr) -%}
    case
        when {{ c360.matches_regex('trim(' ~ expr ~ ')', c360.date_text_pattern()) }}
            then try_cast(trim({{ expr }}) as date)
    end
{%- endmacro %}

{#- Postgres: a cast of an impossible date raises, and there is no try_cast, so the
    calendar is validated first (nested CASE guarantees evaluation order). -#}
{% macro postgres__safe_to_date(expr) -%}
    case
        when {{ c360.postgres_is_valid_date_prefix('trim(' ~ expr ~ ')', c360.date_text_pattern()) }}
            then cast(trim({{ expr }}) as date)
    end
{%- endmacro %}

{#- Spark: try_to_date with an explicit pattern returns null on garbage even in ANSI mode. -#}
{% macro spark__safe_to_date(expr) -%}
    case
        when {{ c360.matches_regex('trim(' ~ expr ~ ')', c360.date_text_pattern()) }}
            then try_to_date(trim({{ expr }}), 'yyyy-MM-dd')
    end
{%- endmacro %}
