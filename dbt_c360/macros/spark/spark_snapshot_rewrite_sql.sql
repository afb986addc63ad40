{#-
    The full new contents of a Parquet snapshot table: what dbt-spark's
    spark__snapshot_merge_sql would leave after its MERGE, as one SELECT.
    - existing rows, with dbt_valid_to set from staging rows of change type update/delete
      when the existing row is the current version (dbt_valid_to null or dbt_valid_to_current);
    - plus staging rows of change type insert.
    Used only by the Parquet snapshot materialization (macros/spark/snapshot_parquet.sql).
-#}
{% macro spark_snapshot_rewrite_sql(target, staging, dest_columns, columns) -%}
    {%- set valid_to_current = config.get('dbt_valid_to_current') -%}
    {%- set is_current -%}
        (dest.`{{ columns.dbt_valid_to }}` is null
        {%- if valid_to_current %} or dest.`{{ columns.dbt_valid_to }}` = {{ valid_to_current }}{% endif %})
    {%- endset -%}
    with

    closing as (

        select `{{ columns.dbt_scd_id }}` as scd_id, `{{ columns.dbt_valid_to }}` as valid_to
        from {{ staging }}
        where dbt_change_type in ('update', 'delete')

    ),

    kept as (

        select
            {% for name in dest_columns -%}
            {% if name == columns.dbt_valid_to -%}
            case when closing.scd_id is not null then closing.valid_to else dest.`{{ name }}` end as `{{ name }}`
            {%- else -%}
            dest.`{{ name }}`
            {%- endif %}{{ ',' if not loop.last }}
            {% endfor %}
        from {{ target }} as dest
        left join closing
            on closing.scd_id = dest.`{{ columns.dbt_scd_id }}` and {{ is_current }}

    ),

    inserted as (

        select
            {% for name in dest_columns -%}
            `{{ name }}`{{ ',' if not loop.last }}
            {% endfor %}
        from {{ staging }}
        where dbt_change_type = 'insert'

    ),

    final as (

        select * from kept
        union all
        select * from inserted

    )

    select * from final
{%- endmacro %}
