{#-
    The text labels of the bands cut by ascending `edges`: '< e0', '[e0, e1)', ..., '>= en'
    (lower bound included, upper bound excluded). n edges give n + 1 bands.
-#}
{% macro share_band_labels(edges) %}
    {{- return(adapter.dispatch('share_band_labels', 'c360')(edges)) -}}
{% endmacro %}

{% macro default__share_band_labels(edges) %}
    {#- No engine differences: labels are built in Jinja and rendered as literals. -#}
    {%- set labels = ['< ' ~ edges[0]] -%}
    {%- for edge in edges[1:] -%}
        {%- do labels.append('[' ~ edges[loop.index0] ~ ', ' ~ edge ~ ')') -%}
    {%- endfor -%}
    {%- do labels.append('>= ' ~ edges[-1]) -%}
    {{- return(labels) -}}
{% endmacro %}
