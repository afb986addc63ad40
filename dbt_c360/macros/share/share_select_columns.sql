{#- The select list of a share model's first CTE, rendered from share_column_plan(model_name). -#}
{% macro share_select_columns(model_name, from_cte) %}
    {{- return(adapter.dispatch('share_select_columns', 'c360')(model_name, from_cte)) -}}
{% endmacro %}

{% macro default__share_select_columns(model_name, from_cte) %}
    {#- No engine differences: the engine-specific parts (hash, date_trunc, types) are dispatched macros;
        every released column but partner_key is text (band, 'YYYY-MM' month, category). -#}
    {%- set plan = c360.share_column_plan(model_name) -%}
    {%- if plan | length == 0 -%}
        {#- parse time (no graph yet): a placeholder that is never executed -#}
        select * from {{ from_cte }}
    {%- else -%}
    select
        {%- for item in plan %}
        {% if item.treatment == 'pseudonymise' -%}
        {{ c360.share_partner_key(item.source) }}
        {%- elif item.treatment == 'band' -%}
        {{ c360.share_band_sql(item.source, item.bands) }}
        {%- elif item.treatment == 'month' -%}
        coalesce(substr(cast(cast({{ dbt.date_trunc('month', item.source) }} as date) as {{ dbt.type_string() }}), 1, 7), 'unknown')
        {%- else -%}
        coalesce(cast({{ item.source }} as {{ dbt.type_string() }}), 'unknown')
        {%- endif %} as {{ item.name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ from_cte }}
    {%- endif -%}
{% endmacro %}
