{#-
    CTEs that make `input_cte` k-anonymous over its quasi-identifiers, ending in `output_cte`.
    The quasi-identifiers are every released column but partner_key, so a class is the whole
    released record. Greedy local recoding: step by step (share_generalisation_ladder: first the
    coarser levels of every column in rank order, then '*' in rank order) only rows whose record
    is shared by fewer than k rows are generalised; rows still in a class smaller than k are
    suppressed.
    Renders `<output_cte>_step_<n> as (...),` ... `<output_cte> as (...),` (trailing comma), so
    the model continues with its `final` CTE. Without quasi-identifiers it passes rows through.
-#}
{% macro share_k_anonymity_ctes(model_name, input_cte, output_cte, k=none) %}
    {{- return(adapter.dispatch('share_k_anonymity_ctes', 'c360')(model_name, input_cte, output_cte, k)) -}}
{% endmacro %}

{% macro default__share_k_anonymity_ctes(model_name, input_cte, output_cte, k=none) %}
    {#- No engine differences: window counts and CASE only. -#}
    {%- set k = (k if k is not none else var('k_anonymity', 5)) | int -%}
    {%- if k < 1 -%}
        {{- exceptions.raise_compiler_error("k_anonymity must be a positive integer, got " ~ k) -}}
    {%- endif -%}
    {%- set plan = c360.share_column_plan(model_name) -%}
    {%- set columns = plan | map(attribute='name') | list -%}
    {%- set quasi = plan | selectattr('is_quasi_identifier') | map(attribute='name') | list -%}
    {%- if columns | length == 0 or quasi | length == 0 -%}
    {{ output_cte }} as (
        select * from {{ input_cte }}
    ),
    {%- else -%}
    {%- set steps = [] -%}
    {%- for item in plan if item.is_quasi_identifier -%}
        {%- set ladder = c360.share_generalisation_ladder(item) -%}
        {%- for level in ladder.levels -%}
            {%- set stage = 2 if loop.last else 1 -%}
            {%- do steps.append({'order': stage * 100 + ladder.rank, 'column': item.name, 'sql': level.replace('__value__', item.name)}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set partition = quasi | join(', ') -%}
    {%- for step in steps | sort(attribute='order') %}
    {{ output_cte }}_step_{{ loop.index }} as (
        select
            {%- for column in columns %}
            {% if column == step.column -%}
            case
                when count(*) over (partition by {{ partition }}) < {{ k }} then {{ step.sql }}
                else {{ column }}
            end as {{ column }}
            {%- else -%}
            {{ column }}
            {%- endif %}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ input_cte if loop.first else output_cte ~ '_step_' ~ (loop.index - 1) }}
    ),
    {%- endfor %}
    {{ output_cte }}_classes as (
        select
            *,
            count(*) over (partition by {{ partition }}) as k_anonymity_class_size
        from {{ output_cte }}_step_{{ steps | length }}
    ),
    {{ output_cte }} as (
        select
            {%- for column in columns %}
            {{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ output_cte }}_classes
        where k_anonymity_class_size >= {{ k }}
    ),
    {%- endif -%}
{% endmacro %}
