{#-
    Fails (one row per column) when a column of a source table, a mart or a share model has no
    valid meta.pii classification. See docs/pii_sharing.md and macros/share/pii_unclassified_columns.sql.
    The refs below only order this test after the marts in `dbt build`, so their built columns
    are checked too; marts added later are checked against their YAML until they are built.
-#}
-- depends_on: {{ ref('customers') }}
-- depends_on: {{ ref('transactions') }}
-- depends_on: {{ ref('customer_category_spend') }}
{{ config(severity='error') }}

{{ pii_unclassified_columns() }}
