{#- The graph node of a model of this project by name (only meaningful when `execute` is true). -#}
{% macro share_graph_node(model_name) %}
    {{- return(adapter.dispatch('share_graph_node', 'c360')(model_name)) -}}
{% endmacro %}

{% macro default__share_graph_node(model_name) %}
    {#- No engine differences: a lookup in the parsed graph. -#}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ model_name) -%}
    {%- if node is none -%}
        {{- exceptions.raise_compiler_error("No enabled model named '" ~ model_name ~ "' in the graph") -}}
    {%- endif -%}
    {{- return(node) -}}
{% endmacro %}
