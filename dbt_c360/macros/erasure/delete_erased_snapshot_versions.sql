{#-
    Post-hook of snapshots.contacts_snapshot (right to erasure): delete every version of a
    contact erased from the CRM, i.e. whose SHA-256 of contact_id is in `erased`
    (intermediate.int_contacts_erased). The snapshot itself only closes a removed contact
    (hard_deletes: invalidate); history of an erased person must not be kept.
-#}
{% macro delete_erased_snapshot_versions(target, erased) -%}
    {{ return(adapter.dispatch('delete_erased_snapshot_versions', 'c360')(target, erased)) }}
{%- endmacro %}

{#- DuckDB and Postgres: one `delete`, in the snapshot's transaction. -#}
{% macro default__delete_erased_snapshot_versions(target, erased) -%}
    {%- if execute %}
        delete from {{ target }}
        where {{ c360.sha256_hex('contact_id') }} in (select erased.contact_key from {{ erased }} as erased)
    {%- endif -%}
{%- endmacro %}

{#- Spark: plain Parquet tables have no DELETE (only Delta/Iceberg/Hudi, not shippable here).
    When some version has to go, the kept versions (a left anti join) replace the table through
    the crash-safe rewrite of macros/spark/ (a new version table swapped in by one metastore
    step), the same path the Parquet snapshot materialization takes. The hook itself returns no
    SQL (dbt skips an empty hook). -#}
{% macro spark__delete_erased_snapshot_versions(target, erased) -%}
    {%- if execute -%}
        {%- set erased_versions_sql -%}
            select count(*) from {{ target }} as version
            left semi join {{ erased }} as erased
                on erased.contact_key = {{ c360.sha256_hex('version.contact_id') }}
        {%- endset -%}
        {%- if run_query(erased_versions_sql).columns[0].values()[0] > 0 -%}
            {%- set dest_columns = adapter.get_columns_in_relation(target) | map(attribute='name') | list -%}
            {%- set kept_sql -%}
                select version.* from {{ target }} as version
                left anti join {{ erased }} as erased
                    on erased.contact_key = {{ c360.sha256_hex('version.contact_id') }}
            {%- endset -%}
            {% do c360.spark_swap_in_rewrite(target, kept_sql, dest_columns, 'erase_versions') %}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
