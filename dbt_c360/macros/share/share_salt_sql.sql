{#-
    A SQL expression that yields the partner-key salt at run time, so the salt itself is never
    rendered into compiled SQL, dbt's artifacts or its logs (only a file path or a setting name is).
    `python -m c360.share.cli` (make share) provides it for the duration of the dbt run: in a
    temporary salt file (mode 0600 in a 0700 directory, deleted afterwards) named by
    `var('share_salt_file')`, and on Postgres as the session setting `c360.share_salt`.
-#}
{% macro share_salt_sql() %}
    {{- return(adapter.dispatch('share_salt_sql', 'c360')()) -}}
{% endmacro %}

{% macro default__share_salt_sql() %}
    {#- No portable way to read a secret at run time: fail at compile time instead of inlining it. -#}
    {{- exceptions.raise_compiler_error(
        "share_salt_sql has no implementation for adapter '" ~ adapter.type() ~ "'"
    ) -}}
{% endmacro %}

{% macro duckdb__share_salt_sql() %}
    {#- DuckDB runs inside the dbt process: read_text() reads the share step's salt file. -#}
    (select trim(content) from read_text({{ c360.share_salt_file_literal() }}))
{%- endmacro %}

{% macro postgres__share_salt_sql() %}
    {#- Postgres: the server cannot read the client's file. The share step starts dbt with
        PGOPTIONS='-c c360.share_salt=...' (libpq sends it at connect), so the salt lives only in
        dbt's environment and the session; current_setting() fails loudly when it is missing. -#}
    current_setting('c360.share_salt')
{%- endmacro %}

{% macro spark__share_salt_sql() %}
    {#- Spark (session mode, local files): query the salt file directly with the text source. -#}
    (select trim(value) from text.`{{ c360.share_salt_file_path() }}`)
{%- endmacro %}
