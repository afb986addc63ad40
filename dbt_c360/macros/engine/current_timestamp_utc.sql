{#- The current time as a timestamp without time zone holding UTC, comparable with as_timestamp_utc(). -#}
{% macro current_timestamp_utc() -%}
    {{ return(adapter.dispatch('current_timestamp_utc', 'c360')()) }}
{%- endmacro %}

{#- Portable fallback: dbt's own UTC helper. -#}
{% macro default__current_timestamp_utc() -%}
    {{ dbt.current_timestamp_in_utc_backcompat() }}
{%- endmacro %}

{#- DuckDB: now() is a timestamptz rendered in the session TimeZone; convert to a UTC wall clock. -#}
{% macro duckdb__current_timestamp_utc() -%}
    cast(timezone('UTC', now()) as timestamp)
{%- endmacro %}

{#- Postgres: AT TIME ZONE on a timestamptz yields the UTC wall clock as `timestamp`. -#}
{% macro postgres__current_timestamp_utc() -%}
    cast(now() at time zone 'UTC' as timestamp)
{%- endmacro %}

{#- Spark: timestamps are instants shown in the session time zone; to_utc_timestamp shifts
    the wall clock to UTC (a no-op when the session time zone is UTC). -#}
{% macro spark__current_timestamp_utc() -%}
    to_utc_timestamp(current_timestamp(), current_timezone())
{%- endmacro %}
