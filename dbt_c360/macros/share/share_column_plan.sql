{#-
    The partner-safe column plan of a model, generated from its columns' `meta`:
    a list of {'name', 'source', 'treatment', 'is_quasi_identifier', 'bands'} in the model's
    column order. Nothing leaves exactly: every released column except partner_key is a
    quasi-identifier of the k-anonymity step (text, null -> 'unknown', generalised where needed).

    `meta.pii` (required on every column, else compile error: nothing unclassified is shared)
      direct  -> dropped; `meta.share: pseudonymise` -> salted SHA-256 `partner_key` (at most one)
      quasi   -> dropped; `meta.share: generalise` -> released under its name
      pseudonymous, none -> dropped unless `meta.share` says how it is released:
                 `keep` as text (a category such as the RFM segment), `month` as the text
                 'YYYY-MM' named `<x>_month` (`<x>_at`/`<x>_date`/`<x>_month` renamed),
                 `band` as the text band of `meta.share_bands` (ascending edges) named `<x>_band`.
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
        {%- set where = "column '" ~ name ~ "' of model '" ~ model_name ~ "'" -%}
        {%- if pii not in c360.pii_classes() -%}
            {{- exceptions.raise_compiler_error(
                where ~ " has no valid meta.pii (" ~ (pii | string) ~ "); classify it as one of "
                ~ c360.pii_classes() | join(', ') ~ " before it can be shared"
            ) -}}
        {%- endif -%}
        {%- set share = meta.get('share', 'drop' if pii in ['none', 'pseudonymous'] else 'keep') -%}
        {%- if share not in ['keep', 'drop', 'pseudonymise', 'generalise', 'month', 'band'] -%}
            {{- exceptions.raise_compiler_error(where ~ " has an unknown meta.share '" ~ share ~ "'") -}}
        {%- endif -%}
        {%- if pii == 'direct' and share == 'pseudonymise' -%}
            {%- do keys.append(name) -%}
            {%- do plan.append({'name': 'partner_key', 'source': name, 'treatment': 'pseudonymise', 'is_quasi_identifier': false}) -%}
        {%- elif pii == 'quasi' and share == 'generalise' -%}
            {%- do plan.append({'name': name, 'source': name, 'treatment': 'generalise', 'is_quasi_identifier': true}) -%}
        {%- elif pii in ['direct', 'quasi'] or share == 'drop' -%}
            {#- dropped: direct identifiers, quasi-identifiers that are not generalised and
                everything without a declared release never leave -#}
        {%- elif share == 'month' -%}
            {%- set stem = modules.re.sub('_(at|date|month)$', '', name) -%}
            {%- do plan.append({'name': stem ~ '_month', 'source': name, 'treatment': 'month', 'is_quasi_identifier': true}) -%}
        {%- elif share == 'band' -%}
            {%- set bands = meta.get('share_bands') -%}
            {%- if bands is none or bands | length == 0 or (bands | map('float') | list) != (bands | map('float') | sort | list) -%}
                {{- exceptions.raise_compiler_error(where ~ ": meta.share 'band' needs meta.share_bands, a list of ascending numbers") -}}
            {%- endif -%}
            {%- do plan.append({'name': name ~ '_band', 'source': name, 'treatment': 'band', 'is_quasi_identifier': true, 'bands': bands}) -%}
        {%- elif share == 'keep' -%}
            {%- do plan.append({'name': name, 'source': name, 'treatment': 'keep', 'is_quasi_identifier': true}) -%}
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
