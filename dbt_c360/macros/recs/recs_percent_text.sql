{#-
    A share in [0, 1] as whole-percent text for human-readable reasons: 0.384 -> '38'.
    `round` with one argument and plain casts are portable across DuckDB, Postgres and Spark.
-#}
{% macro recs_percent_text(share) -%}
    {{ return(adapter.dispatch('recs_percent_text', 'c360')(share)) }}
{%- endmacro %}

{% macro default__recs_percent_text(share) -%}
    cast(cast(round(100 * ({{ share }})) as integer) as {{ dbt.type_string() }})
{%- endmacro %}
