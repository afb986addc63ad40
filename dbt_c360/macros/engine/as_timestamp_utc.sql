{#-
    Text 'YYYY-MM-DD HH:MM:SS[.f{1,6}]' (UTC wall clock, as in both raw feeds) -> a timestamp
    without time zone holding UTC. Null for null, blank, another format or impossible values
    (month 13, 25:00, 2023-02-30); never raises.
-#}
{% macro as_timestamp_utc(expr) -%}
    {{ return(adapter.dispatch('as_timestamp_utc', 'c360')(expr)) }}
{%- endmacro %}


{#- Portable fallback: regex guard, then a plain cast. -#}
{% macro default__as_timestamp_utc(expr) -%}
    case
        when {{ c360.matches_regex('trim(' ~ expr ~ ')', c360.timestamp_text_pattern()) }}
            then cast(trim({{ expr }}) as timestamp)
    end
{%- endmacro %}

{#- DuckDB: try_cast yields null for impossible dates the regex lets through (2023-02-30). -#}
{% macro duckdb__as_timestamp_utc(expr) -%}
    case
        when {{ c360.matches_regex('trim(' ~ expr ~ ')', c360.timestamp_text_pattern()) }}
            then try_cast(trim({{ expr }}) as timestamp)
    end
{%- endmacro %}

{#- Postgres: no try_cast and the cast raises on an impossible date, so the calendar part is
    validated first; `timestamp` (without time zone) keeps the UTC wall clock unchanged
    whatever the session TimeZone is. -#}
{% macro postgres__as_timestamp_utc(expr) -%}
    case
        when {{ c360.postgres_is_valid_date_prefix('trim(' ~ expr ~ ')', c360.timestamp_text_pattern()) }}
            then cast(trim({{ expr }}) as timestamp)
    end
{%- endmacro %}

{#- Spark: try_to_timestamp returns null instead of failing under ANSI mode; the optional
    fraction section accepts 1-6 digits. Interpreted in the session time zone, which the
    profile should pin to UTC (spark.sql.session.timeZone). -#}
{% macro spark__as_timestamp_utc(expr) -%}
    case
        when {{ c360.matches_regex('trim(' ~ expr ~ ')', c360.timestamp_text_pattern()) }}
            then try_to_timestamp(trim({{ expr }}), 'yyyy-MM-dd HH:mm:ss[.SSSSSS]')
    end
{%- endmacro %}
