{#-
    Cast text to a numeric type without ever raising: null when the value does not fit.
    `type` is one of the SQL types used by the project (integer, bigint, numeric(p,s),
    double). Use safe_to_date / as_timestamp_utc for dates and timestamps.
-#}
{% macro safe_cast(expr, type) -%}
    {{ return(adapter.dispatch('safe_cast', 'c360')(expr, type)) }}
{%- endmacro %}

{#- Portable fallback: dbt's cross-database safe_cast (a plain cast where the engine has no try_cast). -#}
{% macro default__safe_cast(expr, type) -%}
    {{ dbt.safe_cast('trim(' ~ expr ~ ')', type) }}
{%- endmacro %}

{#- DuckDB: native try_cast. -#}
{% macro duckdb__safe_cast(expr, type) -%}
    try_cast(trim({{ expr }}) as {{ type }})
{%- endmacro %}

{#- Postgres has no try_cast and casts raise on bad input, so a regex chosen for the target
    type guards the cast (digit counts bound the value so it cannot overflow). -#}
{% macro postgres__safe_cast(expr, type) -%}
    {%- set t = type | lower | replace(' ', '') -%}
    {%- set numeric_match = modules.re.match('^(numeric|decimal)[(]([0-9]+),([0-9]+)[)]$', t) -%}
    {%- if t in ('integer', 'int', 'int4') -%}
        {%- set pattern = "'[-+]?[0-9]{1,9}'" -%}
    {%- elif t in ('bigint', 'int8') -%}
        {%- set pattern = "'[-+]?[0-9]{1,18}'" -%}
    {%- elif numeric_match -%}
        {%- set int_digits = (numeric_match.group(2) | int) - (numeric_match.group(3) | int) -%}
        {%- set pattern = "'[-+]?([0-9]{1," ~ int_digits ~ "}([.][0-9]*)?|[.][0-9]+)'" -%}
    {%- elif t in ('numeric', 'decimal', 'doubleprecision', 'double', 'float', 'float8', 'real') -%}
        {%- set pattern = "'[-+]?([0-9]{1,30}([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]{1,2})?'" -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("c360.safe_cast: no safe Postgres cast for type '" ~ type ~ "'") }}
    {%- endif -%}
    case
        when {{ c360.matches_regex('trim(' ~ expr ~ ')', pattern) }}
            then cast(trim({{ expr }}) as {{ type }})
    end
{%- endmacro %}

{#- Spark: native try_cast (null instead of an error under ANSI mode). -#}
{% macro spark__safe_cast(expr, type) -%}
    try_cast(trim({{ expr }}) as {{ type }})
{%- endmacro %}
