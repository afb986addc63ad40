{#-
    The quarantine gate: fails (one row per reason) when one quarantine `reason` takes more than
    its share of a source's rows (exact duplicates, which are collapsed, not counted), so the
    marts downstream of the tested model are not published. Each row carries a `message` naming
    the source, reason, count, share, limit, two example values and the fix; `make build`
    (c360.build) prints it.
      source_label    - the source as users know it, e.g. web.transactions
      example_columns - reason -> the raw column whose value shows the problem
      fixes           - reason -> what to do (default: look at the quality table, or raise the limit)
      quality_table   - where the quarantined rows are listed
    Limits: dbt var `quarantine_max_share` (default 0.05) for every reason, overridden per reason
    by var `quarantine_max_share_by_reason` ({reason: share}).
-#}
{% test quarantine_share_within_limit(model, source_label, quality_table, example_columns={}, fixes={}) %}

{%- set default_share = var('quarantine_max_share', 0.05) | float -%}
{%- set shares = var('quarantine_max_share_by_reason', {}) -%}
{%- set default_fix = "see " ~ quality_table ~ "; if this share is expected, raise the dbt var quarantine_max_share" -%}

with

source_rows as (

    select * from {{ model }}
    where not is_exact_duplicate

),

totals as (

    select count(*) as source_rows from source_rows

),

examples as (

    select
        reason,
        coalesce(
            case
                {%- for reason, column in example_columns.items() %}
                when reason = '{{ reason }}' then cast({{ column }} as {{ dbt.type_string() }})
                {%- endfor %}
                else cast(_source_row_number as {{ dbt.type_string() }})
            end,
            '(empty)'
        ) as example_value

    from source_rows
    where reason is not null

),

per_reason as (

    select
        reason,
        count(*) as quarantined,
        min(example_value) as example_1,
        max(example_value) as example_2

    from examples
    group by reason

),

limits as (

    select
        per_reason.*,
        totals.source_rows,
        case
            {%- for reason, share in shares.items() %}
            when per_reason.reason = '{{ reason }}' then {{ share | float }}
            {%- endfor %}
            else {{ default_share }}
        end as max_share,
        case
            {%- for reason, share in shares.items() %}
            when per_reason.reason = '{{ reason }}' then '{{ "%.1f" | format((share | float) * 100) }}%'
            {%- endfor %}
            else '{{ "%.1f" | format(default_share * 100) }}%'
        end as limit_label,
        case
            {%- for reason, fix in fixes.items() %}
            when per_reason.reason = '{{ reason }}' then '{{ fix | replace("'", "''") }}'
            {%- endfor %}
            else '{{ default_fix }}'
        end as fix

    from per_reason
    cross join totals

),

final as (

    select
        reason,
        quarantined,
        source_rows,
        max_share,
        example_1,
        example_2,
        '{{ source_label }}: ' || cast(quarantined as {{ dbt.type_string() }})
        || ' of ' || cast(source_rows as {{ dbt.type_string() }}) || ' rows ('
        || cast(round(100.0 * quarantined / source_rows, 1) as {{ dbt.type_string() }})
        || '%) quarantined as ' || reason || ' (limit ' || limit_label || '), e.g. "'
        || example_1 || '"' || case when example_2 <> example_1 then ', "' || example_2 || '"' else '' end
        || '. Fix: ' || fix || '.' as message  -- noqa: LT05

    from limits
    where quarantined > max_share * source_rows

)

select * from final

{% endtest %}
