{#-
    The text a safe_cast_text to `type` accepts, as a SQL regex literal, so every engine accepts
    exactly the same inputs: optional sign, plain decimal notation (no exponent, no thousands
    separator, no currency sign) and, for Postgres's sake, digit counts that cannot overflow
    the type. Engine-neutral (a string), so not dispatched.
-#}
{% macro safe_cast_text_pattern(type) -%}
    {%- set t = type | lower | replace(' ', '') -%}
    {%- set numeric_match = modules.re.match('^(numeric|decimal)[(]([0-9]+),([0-9]+)[)]$', t) -%}
    {%- if t in ('integer', 'int', 'int4') -%}
        {{ return("'[-+]?[0-9]{1,9}'") }}
    {%- elif t in ('bigint', 'int8') -%}
        {{ return("'[-+]?[0-9]{1,18}'") }}
    {%- elif numeric_match -%}
        {%- set int_digits = (numeric_match.group(2) | int) - (numeric_match.group(3) | int) -%}
        {{ return("'[-+]?([0-9]{1," ~ int_digits ~ "}([.][0-9]*)?|[.][0-9]+)'") }}
    {%- elif t in ('numeric', 'decimal', 'doubleprecision', 'double', 'float', 'float8', 'real') -%}
        {{ return("'[-+]?([0-9]{1,30}([.][0-9]*)?|[.][0-9]+)'") }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("c360.safe_cast_text: unsupported type '" ~ type ~ "'") }}
    {%- endif -%}
{%- endmacro %}
