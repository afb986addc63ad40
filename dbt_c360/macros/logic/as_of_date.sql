{#-
    The build's as-of date as a one-column select (`as_of_date`, a date): var('as_of_date')
    when set (must be YYYY-MM-DD), else the latest transaction_date of `transactions` (a CTE
    or relation with that column), today when it has none. marts.customers computes recency
    as of it and metricflow_time_spine ends on it, so no metric has a period after it.
    Plain SQL, the same on every engine, so it is not dispatched.
-#}
{% macro as_of_date(transactions) -%}
    {%- set as_of_var = var('as_of_date') -%}
    {%- if as_of_var and not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', as_of_var | string) -%}
        {{ exceptions.raise_compiler_error("var as_of_date must be YYYY-MM-DD, got '" ~ as_of_var ~ "'") }}
    {%- endif -%}
    {%- if as_of_var -%}
    select cast('{{ as_of_var }}' as date) as as_of_date
    {%- else -%}
    select coalesce(max(transaction_date), current_date) as as_of_date
    from {{ transactions }}
    {%- endif %}
{%- endmacro %}
