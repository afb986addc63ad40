{#-
    The partner-safe column plan of a model, generated from its columns' `meta`:
    a list of {'name', 'source', 'treatment', 'is_quasi_identifier'} in the model's column order.

    `meta.pii` (required on every column, else compile error: nothing unclassified is shared)
      direct  -> dropped; `meta.share: pseudonymise` -> salted SHA-256 `partner_key` (at most one)
      quasi   -> dropped; `meta.share: generalise` -> kept under its name as a k-anonymity
                 quasi-identifier (text, null -> 'unknown', then generalised where needed)
      pseudonymous, none -> kept; `meta.share: drop` drops it, `meta.share: month` truncates a
                 date/timestamp to its month and renames `<x>_at`/`<x>_date` to `<x>_month`.
    Columns are read from the built relation (so an undocumented column fails closed).
-#}
{% macro share_column_plan(model_name) %}
    {{- return(adapter.dispatch('share_column_plan', 'c360')(model_name)) -}}
{% endmacro %}

{% macro default__share_column_plan(model_name) %}
    {#- No engine differences: pure Jinja over the graph and the relation's columns. -#}
    {%- if not execute -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set node = c360.share_graph_node(model_name) -%}
    {%- set metas = {} -%}
    {%- for column in node.columns.values() -%}
        {%- do metas.update({column.name | lower: column.meta or {}}) -%}
    {%- endfor -%}
    {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- if relation is none -%}
        {{- exceptions.raise_compiler_error(
            "Model '" ~ model_name ~ "' is not built in " ~ node.schema ~ ": run `make build` before `make share`"
        ) -}}
    {%- endif -%}
    {%- set plan = [] -%}
    {%- set keys = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- set name = column.name | lower -%}
        {%- set meta = metas.get(name, {}) -%}
        {%- set pii = meta.get('pii') -%}
        {%- set share = meta.get('share', 'keep') -%}
        {%- set where = "column '" ~ name ~ "' of model '" ~ model_name ~ "'" -%}
        {%- if pii not in c360.pii_classes() -%}
            {{- exceptions.raise_compiler_error(
                where ~ " has no valid meta.pii (" ~ (pii | string) ~ "); classify it as one of "
                ~ c360.pii_classes() | join(', ') ~ " before it can be shared"
            ) -}}
        {%- endif -%}
        {%- if share not in ['keep', 'drop', 'pseudonymise', 'generalise', 'month'] -%}
            {{- exceptions.raise_compiler_error(where ~ " has an unknown meta.share '" ~ share ~ "'") -}}
        {%- endif -%}
        {%- if pii == 'direct' and share == 'pseudonymise' -%}
            {%- do keys.append(name) -%}
            {%- do plan.append({'name': 'partner_key', 'source': name, 'treatment': 'pseudonymise', 'is_quasi_identifier': false}) -%}
        {%- elif pii == 'quasi' and share == 'generalise' -%}
            {%- do plan.append({'name': name, 'source': name, 'treatment': 'generalise', 'is_quasi_identifier': true}) -%}
        {%- elif pii in ['direct', 'quasi'] or share == 'drop' -%}
            {#- dropped: direct identifiers and quasi-identifiers that are not generalised never leave -#}
        {%- elif share == 'month' -%}
            {%- set stem = modules.re.sub('_(at|date)$', '', name) -%}
            {%- do plan.append({'name': stem ~ '_month', 'source': name, 'treatment': 'month', 'is_quasi_identifier': false}) -%}
        {%- elif share == 'keep' -%}
            {%- do plan.append({'name': name, 'source': name, 'treatment': 'keep', 'is_quasi_identifier': false}) -%}
        {%- else -%}
            {{- exceptions.raise_compiler_error(where ~ ": meta.share '" ~ share ~ "' does not apply to pii '" ~ pii ~ "'") -}}
        {%- endif -%}
    {%- endfor -%}
    {%- if keys | length > 1 -%}
        {{- exceptions.raise_compiler_error(
            "Model '" ~ model_name ~ "' has several pseudonymised columns (" ~ keys | join(', ') ~ "); only one can become partner_key"
        ) -}}
    {%- endif -%}
    {{- return(plan) -}}
{% endmacro %}
