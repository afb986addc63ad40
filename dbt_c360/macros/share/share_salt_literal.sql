{#-
    The partner-key salt as a SQL string literal, from `var('share_salt')`.
    `python -m c360.share.cli` passes it with --vars; it is never written into a committed file.
    The salt is restricted to a safe character set (also checked in c360/share/salt.py),
    so it can be placed in a literal on every engine without escaping rules.
-#}
{% macro share_salt_literal() %}
    {{- return(adapter.dispatch('share_salt_literal', 'c360')()) -}}
{% endmacro %}

{% macro default__share_salt_literal() %}
    {#- No engine differences: a plain single-quoted literal of a validated salt. -#}
    {%- set salt = var('share_salt', none) -%}
    {%- if not execute -%}
        {{- return("''") -}}
    {%- endif -%}
    {%- if salt is none or (salt | string | trim) == '' -%}
        {{- exceptions.raise_compiler_error(
            "The share models need a salt: run `python -m c360.share.cli` (make share), which passes "
            ~ "--vars '{share_salt: ...}' from C360_SHARE_SALT or .c360_share_salt."
        ) -}}
    {%- endif -%}
    {%- if not modules.re.fullmatch('[A-Za-z0-9_.+/=-]{16,256}', salt | string) -%}
        {{- exceptions.raise_compiler_error(
            "var share_salt must be 16-256 characters of A-Z a-z 0-9 _ . + / = -"
        ) -}}
    {%- endif -%}
    {{- return("'" ~ salt ~ "'") -}}
{% endmacro %}
