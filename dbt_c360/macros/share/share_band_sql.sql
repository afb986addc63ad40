{#-
    A text expression putting the number `expr` into the bands cut by ascending `edges`
    (labels from share_band_labels); null becomes 'unknown'. Exact values never leave.
-#}
{% macro share_band_sql(expr, edges) %}
    {{- return(adapter.dispatch('share_band_sql', 'c360')(expr, edges)) -}}
{% endmacro %}

{% macro default__share_band_sql(expr, edges) %}
    {#- No engine differences: a CASE over numeric comparisons with literal labels. -#}
    {%- set labels = c360.share_band_labels(edges) -%}
    case
        when {{ expr }} is null then 'unknown'
        {%- for edge in edges %}
        when {{ expr }} < {{ edge }} then '{{ labels[loop.index0] }}'
        {%- endfor %}
        else '{{ labels[-1] }}'
    end
{%- endmacro %}
