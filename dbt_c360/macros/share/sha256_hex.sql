{#-
    Lower-case hexadecimal SHA-256 of the UTF-8 bytes of a text expression.
    Every adapter must give the same 64-character string for the same text, so a
    partner key computed on DuckDB, Postgres or Spark (and by hashlib) is identical.
-#}
{% macro sha256_hex(expr) %}
    {{- return(adapter.dispatch('sha256_hex', 'c360')(expr)) -}}
{% endmacro %}

{% macro default__sha256_hex(expr) %}
    {#- There is no portable SQL SHA-256: fail at compile time instead of hashing differently. -#}
    {{- exceptions.raise_compiler_error(
        "sha256_hex has no implementation for adapter '" ~ adapter.type() ~ "'"
    ) -}}
{% endmacro %}

{% macro duckdb__sha256_hex(expr) %}
    {#- DuckDB: sha256(varchar) hashes the UTF-8 bytes and already returns lower-case hex. -#}
    sha256(cast({{ expr }} as varchar))
{%- endmacro %}

{% macro postgres__sha256_hex(expr) %}
    {#- Postgres: sha256() works on bytea, so encode the text as UTF-8 first and hex-encode the digest. -#}
    encode(sha256(convert_to(cast({{ expr }} as text), 'UTF8')), 'hex')
{%- endmacro %}

{% macro spark__sha256_hex(expr) %}
    {#- Spark (and Databricks, which falls back to spark__): sha2(string, 256) returns lower-case hex. -#}
    sha2(cast({{ expr }} as string), 256)
{%- endmacro %}
