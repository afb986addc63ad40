{#-
    The path of the share step's temporary salt file, from `var('share_salt_file')` (never the
    salt itself). Restricted to a safe character set so it can sit in a SQL literal or a Spark
    path on every engine without escaping rules.
-#}
{% macro share_salt_file_path() %}
    {{- return(adapter.dispatch('share_salt_file_path', 'c360')()) -}}
{% endmacro %}

{% macro default__share_salt_file_path() %}
    {#- No engine differences: the path is validated, not quoted. -#}
    {%- set path = var('share_salt_file', none) -%}
    {%- if not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {%- if path is none or (path | string | trim) == '' -%}
        {{- exceptions.raise_compiler_error(
            "The share models need the salt: run `python -m c360.share.cli` (make share), which "
            ~ "provides it for the run from C360_SHARE_SALT or .c360_share_salt."
        ) -}}
    {%- endif -%}
    {%- if not modules.re.fullmatch('/[A-Za-z0-9_./-]{1,1000}', path | string) -%}
        {{- exceptions.raise_compiler_error(
            "var share_salt_file must be an absolute path of A-Z a-z 0-9 _ . / -"
        ) -}}
    {%- endif -%}
    {{- return(path | string) -}}
{% endmacro %}
