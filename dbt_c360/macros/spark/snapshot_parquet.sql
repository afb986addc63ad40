{#-
    Snapshots on Spark tables stored as plain Parquet (the local `spark` target).

    dbt-spark's snapshot materialization needs MERGE INTO, which only Delta, Iceberg and Hudi
    tables support; their jars are not shippable here (see docs/scaling_out.md). This
    override keeps dbt-spark's behaviour for those formats and, for Parquet, applies the same
    changes as its merge (close the current version of updated/deleted keys, insert new
    versions) by rewriting the table: the merged rows go to a new version of the table, which
    replaces the old one in one metastore step (crash-safe: macros/spark/spark_swap_in_rewrite.sql).
    The staging rows and change types come from dbt's own snapshot_staging_table, so check/
    timestamp strategies and hard_deletes behave as on the other engines.
-#}
{% materialization snapshot, adapter='spark' %}
    {%- set file_format = config.get('file_format') or 'parquet' -%}
    {%- if file_format in ['delta', 'iceberg', 'hudi'] -%}
        {{ return(dbt.materialization_snapshot_spark()) }}
    {%- endif -%}

    {%- set grant_config = config.get('grants') -%}
    {%- set target_table = model.get('alias', model.get('name')) -%}
    {% set target_relation_exists, target_relation = get_or_create_relation(
        database=none, schema=model.schema, identifier=target_table, type='table') -%}

    {% if not adapter.check_schema_exists(model.database, model.schema) %}
        {% do create_schema(model.schema) %}
    {% endif %}

    {{ run_hooks(pre_hooks) }}

    {% set strategy_macro = strategy_dispatch(config.get('strategy')) %}
    {% set strategy = strategy_macro(model, "snapshotted_data", "source_data", model['config'], target_relation_exists) %}

    {% if not target_relation_exists %}
        {% call statement('main') %}
            {{ create_table_as(False, target_relation, build_snapshot_table(strategy, model['compiled_code'])) }}
        {% endcall %}
    {% else %}
        {% set columns = config.get('snapshot_table_column_names') or get_snapshot_table_column_names() %}
        {{ adapter.valid_snapshot_target(target_relation, columns) }}
        {% set staging_table = spark_build_snapshot_staging_table(strategy, sql, target_relation) %}
        {% set missing_columns = adapter.get_missing_columns(staging_table, target_relation)
            | rejectattr('name', 'in', ['dbt_change_type', 'DBT_CHANGE_TYPE', 'dbt_unique_key', 'DBT_UNIQUE_KEY'])
            | list %}
        {% do create_columns(target_relation, missing_columns) %}
        {% set dest_columns = adapter.get_columns_in_relation(target_relation) | map(attribute='name') | list %}
        {% do c360.spark_swap_in_rewrite(target_relation, c360.spark_snapshot_rewrite_sql(
            target_relation, staging_table, dest_columns, columns), dest_columns, 'snapshot') %}
        {% do post_snapshot(staging_table) %}
    {% endif %}

    {% set should_revoke = should_revoke(target_relation_exists, full_refresh_mode) %}
    {% do apply_grants(target_relation, grant_config, should_revoke) %}
    {% do persist_docs(target_relation, model) %}

    {{ run_hooks(post_hooks) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
