{#-
    The name of an 8-byte floating point type, for the recommender's probabilities and scores.
    dbt.type_float() is not usable here: it renders `float`, which is 4 bytes on DuckDB and Spark.
-#}
{% macro recs_double_type() -%}
    {{ return(adapter.dispatch('recs_double_type', 'c360')()) }}
{%- endmacro %}

{#- SQL standard spelling (Postgres has no plain `double`). -#}
{% macro default__recs_double_type() -%}
    double precision
{%- endmacro %}

{#- DuckDB: `double` is the native name (it also accepts `double precision`; kept explicit). -#}
{% macro duckdb__recs_double_type() -%}
    double
{%- endmacro %}

{#- Spark SQL does not parse `double precision`; its 8-byte type is `double`. -#}
{% macro spark__recs_double_type() -%}
    double
{%- endmacro %}
