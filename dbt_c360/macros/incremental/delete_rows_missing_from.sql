{#-
    Pre-hook of an incremental model: delete the rows of `target` that no longer have an
    identical row in `source` (same value in every one of `columns`, nulls equal), so a row that
    disappeared from the source, became invalid, or changed in any column leaves the table
    before the run merges the new and changed rows on the key. Nothing happens on the first run
    or a --full-refresh (the table is then rebuilt from `source`), or when `target` does not
    exist yet. Together with a model that selects the source rows whose key the table no longer
    holds, the table equals the source after any sequence of loads (no loaded_at watermark).
-#}
{% macro delete_rows_missing_from(target, source, columns) -%}
    {{ return(adapter.dispatch('delete_rows_missing_from', 'c360')(target, source, columns)) }}
{%- endmacro %}

{#- DuckDB and Postgres: one `delete ... where not exists`, in the model's transaction. -#}
{% macro default__delete_rows_missing_from(target, source, columns) -%}
    {%- if execute and not should_full_refresh() and load_relation(target) is not none %}
        delete from {{ target }} as existing
        where not exists (
            select 1 from {{ source }} as kept
            where
                {%- for name in columns %}
                kept.{{ name }} is not distinct from existing.{{ name }}{{ ' and' if not loop.last }}
                {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{#- Spark: plain Parquet tables have no DELETE (only Delta/Iceberg/Hudi do, whose jars are not
    shippable here, docs/scaling_out.md). The kept rows (a left semi join on the same match,
    with Spark's null-safe `<=>`) replace the table through the crash-safe rewrite of
    macros/spark/ (a new version table swapped in by one metastore step), and only when some
    row has to go. The hook itself
    returns no SQL (dbt skips an empty hook). -#}
{% macro spark__delete_rows_missing_from(target, source, columns) -%}
    {%- if execute and not should_full_refresh() and load_relation(target) is not none -%}
        {%- set stale_sql -%}
            select count(*) from {{ target }} as existing
            left anti join {{ source }} as kept
                on
                {%- for name in columns %}
                kept.`{{ name }}` <=> existing.`{{ name }}`{{ ' and' if not loop.last }}
                {%- endfor %}
        {%- endset -%}
        {%- if run_query(stale_sql).columns[0].values()[0] > 0 -%}
            {%- set dest_columns = adapter.get_columns_in_relation(target) | map(attribute='name') | list -%}
            {%- set kept_sql -%}
                select existing.* from {{ target }} as existing
                left semi join {{ source }} as kept
                    on
                {%- for name in columns %}
                kept.`{{ name }}` <=> existing.`{{ name }}`{{ ' and' if not loop.last }}
                {%- endfor %}
            {%- endset -%}
            {% do c360.spark_swap_in_rewrite(target, kept_sql, dest_columns, 'delete_missing') %}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
