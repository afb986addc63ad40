{#-
    Fails with one row per combination of quasi-identifiers shared by fewer than k rows
    (or k distinct `entity_column` values when one row is not one person).
    quasi_identifiers default to the model's columns classified `meta.pii: quasi`;
    a model without any is an error, not a pass. k defaults to var('k_anonymity', 5).
-#}
{% test share_k_anonymity(model, quasi_identifiers=none, k=none, entity_column=none) %}

{%- set k = (k if k is not none else var('k_anonymity', 5)) | int -%}
{%- set quasi = quasi_identifiers -%}
{%- if quasi is none and execute -%}
    {%- set quasi = [] -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.alias == model.identifier and node.schema == model.schema -%}
        {%- for column in node.columns.values() if (column.meta or {}).get('pii') == 'quasi' -%}
            {%- do quasi.append(column.name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if quasi | length == 0 -%}
        {{- exceptions.raise_compiler_error(
            "share_k_anonymity on " ~ model ~ ": no quasi_identifiers given and no column has meta.pii: quasi"
        ) -}}
    {%- endif -%}
{%- endif -%}
{%- set quasi = quasi or ['1'] -%}

with

classes as (

    select
        {%- for column in quasi %}
        {{ column }},
        {%- endfor %}
        count({{ 'distinct ' ~ entity_column if entity_column else '*' }}) as class_size
    from {{ model }}
    group by {{ quasi | join(', ') }}

),

final as (

    select * from classes
    where class_size < {{ k }}

)

select * from final

{% endtest %}
