{#-
    An SCD type 2 mart (marts.customer_versions, marts.customer_segment_versions): each entity's
    versions never overlap (a version ends before or where the next begins; a gap is a record
    that left and came back), only the last may be open (valid_to null), and every window is
    non-empty (valid_from < valid_to), so a point in time has at most one version. Returns the
    offending versions (`column_name`: the version's key).
-#}
{% test versions_do_not_overlap(model, column_name, entity_column, version_column='version_number') %}

with

ordered as (

    select
        {{ column_name }} as version_key,
        valid_from,
        valid_to,
        lead(valid_from) over (partition by {{ entity_column }} order by {{ version_column }}) as next_valid_from,
        lead({{ version_column }}) over (partition by {{ entity_column }} order by {{ version_column }})
            as next_version_number

    from {{ model }}

)

select version_key
from ordered
where
    valid_to <= valid_from
    or (next_version_number is not null and (valid_to is null or valid_to > next_valid_from))

{% endtest %}
