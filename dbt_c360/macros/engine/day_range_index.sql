{#- A post-hook statement indexing `date_trunc('day', cast(<column> as timestamp))` of a table,
    the expression MetricFlow's cumulative-window join compares with the time spine's days
    (semantic model daily_category_spend, dimension spend_date). -#}
{% macro day_range_index(relation, column) -%}
    {{ return(adapter.dispatch('day_range_index', 'c360')(relation, column)) }}
{%- endmacro %}

{#- No statement (dbt skips an empty hook). DuckDB plans the window join as a range (piecewise
    merge) join that needs no index; Spark tables have no secondary indexes. -#}
{% macro default__day_range_index(relation, column) -%}
{%- endmacro %}

{#- Postgres has no range join: without an index it nested-loops every spine day against every
    row (10x slower on the demo data). With this expression index each day is one index range
    scan. Unnamed, so Postgres picks a free name: the table is rebuilt on every run and the
    previous copy, with its own index, is dropped only after the post-hook has run. -#}
{% macro postgres__day_range_index(relation, column) -%}
    create index on {{ relation }} (date_trunc('day', cast({{ column }} as timestamp)))
{%- endmacro %}
