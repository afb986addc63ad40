{#- The share step's salt file path (`share_salt_file_path`) as a single-quoted SQL literal. -#}
{% macro share_salt_file_literal() %}
    {{- return(adapter.dispatch('share_salt_file_literal', 'c360')()) -}}
{% endmacro %}

{% macro default__share_salt_file_literal() %}
    {#- No engine differences: the validated path holds no quote. -#}
    {{- return("'" ~ c360.share_salt_file_path() ~ "'") -}}
{% endmacro %}
