{#- The storage location of a Spark table, from `describe table extended` (used by
    spark_swap_in_rewrite). -#}
{% macro spark_table_location(relation) %}
    {%- set rows = run_query('describe table extended ' ~ relation) -%}
    {%- for row in rows if row[0] == 'Location' -%}
        {{ return(row[1]) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error('no Location for ' ~ relation ~ ' in describe table extended') }}
{% endmacro %}
