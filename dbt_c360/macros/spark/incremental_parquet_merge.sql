{#-
    Incremental models with the `merge` strategy on Spark tables stored as plain Parquet
    (the local `spark` target).

    dbt-spark rejects `merge` unless file_format is delta, iceberg or hudi, whose jars are not
    shippable here (see docs/scaling_out.md). For that one case this override gives the
    same result as MERGE ... WHEN MATCHED UPDATE * WHEN NOT MATCHED INSERT * on unique_key:
    the new rows (a temp view of the model's incremental SQL) plus the existing rows whose
    key is not among them are written to a new version of the table, which replaces the old
    one in one metastore step (crash-safe: macros/spark/spark_swap_in_rewrite.sql). Every other
    strategy or file format is handled by dbt-spark's own materialization, unchanged.
-#}
{% materialization incremental, adapter='spark', supported_languages=['sql', 'python'] -%}
    {%- set file_format = config.get('file_format', default='parquet') -%}
    {%- set strategy = config.get('incremental_strategy') or 'append' -%}
    {%- if strategy != 'merge' or file_format in ['delta', 'iceberg', 'hudi'] or model['language'] != 'sql' -%}
        {{ return(dbt.materialization_incremental_spark()) }}
    {%- endif -%}

    {%- set unique_key = config.get('unique_key') -%}
    {%- if not unique_key or config.get('merge_update_columns') or config.get('merge_exclude_columns')
        or config.get('incremental_predicates') or config.get('predicates') -%}
        {% do exceptions.raise_compiler_error(
            model.name ~ ": merge on a Parquet table (macros/spark/incremental_parquet_merge.sql) "
            ~ "needs unique_key and supports no merge_update_columns, merge_exclude_columns "
            ~ "or incremental_predicates") %}
    {%- endif -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set grant_config = config.get('grants') -%}
    {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}
    {%- set target_relation = this -%}
    {%- set existing_relation = load_relation(this) -%}

    {{ run_hooks(pre_hooks) }}

    {%- if existing_relation is none or existing_relation.is_view or should_full_refresh() -%}
        {%- if existing_relation is not none -%}
            {% do adapter.drop_relation(existing_relation) %}
        {%- endif -%}
        {%- call statement('main') -%}
            {{ create_table_as(False, target_relation, compiled_code) }}
        {%- endcall -%}
    {%- else -%}
        {%- set tmp_relation = this.incorporate(path={'identifier': this.identifier ~ '__dbt_tmp'})
            .include(database=false, schema=false) -%}
        {%- call statement('create_tmp_relation') -%}
            {{ create_table_as(True, tmp_relation, compiled_code) }}
        {%- endcall -%}
        {%- do process_schema_changes(on_schema_change, tmp_relation, existing_relation) -%}
        {%- set dest_columns = adapter.get_columns_in_relation(target_relation) | map(attribute='name') | list -%}
        {% do c360.spark_swap_in_rewrite(target_relation,
            c360.spark_merge_rewrite_sql(target_relation, tmp_relation, dest_columns, keys), dest_columns, 'merge') %}
    {%- endif -%}

    {% set should_revoke = should_revoke(existing_relation, full_refresh_mode) %}
    {% do apply_grants(target_relation, grant_config, should_revoke) %}
    {% do persist_docs(target_relation, model) %}

    {{ run_hooks(post_hooks) }}

    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}
