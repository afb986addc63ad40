{#-
    The full new contents of a Parquet table after merging `source` into `target` on `keys`
    (update matched rows, insert the others), as one SELECT: every source row, plus the
    target rows whose key no source row has. Columns in the target's order.
    Used only by the Parquet merge materialization (macros/spark/incremental_parquet_merge.sql).
-#}
{% macro spark_merge_rewrite_sql(target, source, dest_columns, keys) -%}
    with

    incoming as (

        select
            {% for name in dest_columns -%}
            `{{ name }}`{{ ',' if not loop.last }}
            {% endfor %}
        from {{ source }}

    ),

    kept as (

        select
            {% for name in dest_columns -%}
            existing.`{{ name }}`{{ ',' if not loop.last }}
            {% endfor %}
        from {{ target }} as existing
        left anti join incoming
            on {% for key in keys %}incoming.`{{ key }}` <=> existing.`{{ key }}`{{ ' and ' if not loop.last }}{% endfor %}

    ),

    final as (

        select * from incoming
        union all
        select * from kept

    )

    select * from final
{%- endmacro %}
