{#-
    SQL returning one row (node_id, column_name, problem) per column that lacks a valid
    meta.pii classification, over every source table, every model in schemas `marts` and
    `share`. Columns come from the YAML and, when the relation exists, from the warehouse
    itself, so a column that was added but never documented is caught too.
    Walks `graph` at execution time; renders an empty result at parse time.
-#}
{% macro pii_unclassified_columns(schemas=['marts', 'share']) %}
    {{- return(adapter.dispatch('pii_unclassified_columns', 'c360')(schemas)) -}}
{% endmacro %}

{% macro default__pii_unclassified_columns(schemas) %}
    {#- No engine differences: graph walking in Jinja, a union of literal rows. -#}
    {%- set failures = [] -%}
    {%- if execute -%}
        {%- set nodes = graph.sources.values() | list -%}
        {#- the built names: `make build` on Postgres builds `marts__next`, ... (generate_schema_name) -#}
        {%- set built = [] -%}
        {%- for schema in schemas -%}
            {%- do built.append(generate_schema_name(schema, none) | trim) -%}
        {%- endfor -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.schema in built -%}
            {%- do nodes.append(node) -%}
        {%- endfor -%}
        {%- for node in nodes -%}
            {%- set metas = {} -%}
            {%- for column in node.columns.values() -%}
                {%- do metas.update({column.name | lower: column.meta or {}}) -%}
            {%- endfor -%}
            {%- set identifier = node.identifier if node.resource_type == 'source' else node.alias -%}
            {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=identifier) -%}
            {%- set names = metas.keys() | list -%}
            {%- if relation is not none -%}
                {%- for column in adapter.get_columns_in_relation(relation)
                    if (column.name | lower) not in names -%}
                    {%- do names.append(column.name | lower) -%}
                {%- endfor -%}
            {%- endif -%}
            {%- if names | length == 0 -%}
                {%- do failures.append([node.unique_id, '*', 'no columns documented and relation not built']) -%}
            {%- endif -%}
            {%- for name in names -%}
                {%- set pii = metas.get(name, {}).get('pii') -%}
                {%- if name not in metas -%}
                    {%- do failures.append([node.unique_id, name, 'column not documented in YAML']) -%}
                {%- elif pii is none -%}
                    {%- do failures.append([node.unique_id, name, 'meta.pii missing']) -%}
                {%- elif pii not in c360.pii_classes() -%}
                    {%- do failures.append([node.unique_id, name, 'meta.pii is not one of ' ~ c360.pii_classes() | join('/')]) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set text = dbt.type_string() -%}
    {%- if failures | length == 0 %}
    select * from (
        select
            cast(null as {{ text }}) as node_id,
            cast(null as {{ text }}) as column_name,
            cast(null as {{ text }}) as problem
    ) as no_failures
    where 1 = 0
    {%- else -%}
    {%- for row in failures %}
    select
        cast('{{ row[0] | replace("'", "") }}' as {{ text }}) as node_id,
        cast('{{ row[1] | replace("'", "") }}' as {{ text }}) as column_name,
        cast('{{ row[2] | replace("'", "") }}' as {{ text }}) as problem
    {% if not loop.last %}union all{% endif %}
    {%- endfor -%}
    {%- endif -%}
{% endmacro %}
