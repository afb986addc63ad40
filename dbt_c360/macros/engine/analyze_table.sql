{#- A post-hook statement refreshing the planner statistics of a just-built table (project-wide
    post-hook for models and seeds in dbt_project.yml). -#}
{% macro analyze_table(relation) -%}
    {{ return(adapter.dispatch('analyze_table', 'c360')(relation)) }}
{%- endmacro %}

{#- No statement (dbt skips an empty hook). DuckDB keeps its statistics up to date as it writes;
    on Spark `analyze table` is a separate job per table that our queries do not need. -#}
{% macro default__analyze_table(relation) -%}
{%- endmacro %}

{#- Postgres: a table dbt has just created has no statistics until autovacuum gets to it, and
    the planner then assumes ~2,550 rows per table. On the demo data that made MetricFlow's
    trailing_30d_spend query look expensive enough to be JIT-compiled, which took 200 ms of its
    260 ms. Views have nothing to analyze. A model whose meta names a `time_grain_statistics`
    column first gets expression statistics on it (postgres_time_grain_statistics), so one
    analyze fills everything. -#}
{% macro postgres__analyze_table(relation) -%}
    {%- if config.get('materialized') in ('table', 'incremental', 'seed', 'snapshot') -%}
        {%- set time_column = (config.get('meta') or {}).get('time_grain_statistics') -%}
        {%- if time_column %}
            {{ c360.postgres_time_grain_statistics(relation, time_column) }}
        {% endif -%}
        analyze {{ relation }}
    {%- endif -%}
{%- endmacro %}
