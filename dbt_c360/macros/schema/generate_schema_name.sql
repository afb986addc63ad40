{#-
    Exact schema names on every target: a model configured with +schema: staging lands in
    `staging`, not `<target_schema>_staging` (dbt's default). Models without a custom schema
    fall back to the target schema. The same names on DuckDB, Postgres and Spark keep the app,
    MetricFlow and the tests target-independent.
    `make build` on Postgres sets env C360_SCHEMA_SUFFIX=__next: the build lands in shadow
    schemas (`marts__next`, ...) that c360/publish.py swaps in after the build passed.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}{{ env_var('C360_SCHEMA_SUFFIX', '') | trim }}
    {%- endif -%}
{%- endmacro %}
