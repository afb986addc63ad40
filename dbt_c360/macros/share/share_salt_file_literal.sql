{#- The share step's salt file path (`share_salt_file_path`) as a single-quoted SQL literal.
    Not dispatched: no engine differences (the validated path holds no quote); Spark reads the
    file by path instead (spark__share_salt_sql). -#}
{% macro share_salt_file_literal() %}
    {{- return("'" ~ c360.share_salt_file_path() ~ "'") -}}
{% endmacro %}
