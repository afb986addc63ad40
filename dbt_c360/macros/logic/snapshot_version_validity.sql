{#-
    The validity columns of a version mart over a dbt snapshot (marts.customer_versions,
    marts.customer_segment_versions), from `version_number` (row_number per key by
    dbt_valid_from) and the snapshot's dbt_valid_from/dbt_valid_to: valid_from, valid_to,
    first_seen_at, is_current. Nothing is known before a key's first snapshot, so its first
    version is assumed to have held since the start of history (1900-01-01). Plain SQL on every
    engine, hence no dispatch.
-#}
{% macro snapshot_version_validity() -%}
        case
            when version_number = 1 then cast('1900-01-01 00:00:00' as timestamp)
            else cast(dbt_valid_from as timestamp)
        end as valid_from,
        cast(dbt_valid_to as timestamp) as valid_to,
        cast(dbt_valid_from as timestamp) as first_seen_at,
        dbt_valid_to is null as is_current
{%- endmacro %}
