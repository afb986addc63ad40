-- marts.customer_versions: each customer's versions never overlap (a version ends before or
-- where the next begins; a gap is a contact that left the export and came back), only the last
-- may be open (valid_to null), and every window is non-empty (valid_from < valid_to), so a
-- point in time has at most one version. Returns the offending versions.
with

versions as (

    select * from {{ ref('customer_versions') }}

),

ordered as (

    select
        customer_version_id,
        customer_id,
        valid_from,
        valid_to,
        lead(valid_from) over (partition by customer_id order by version_number) as next_valid_from,
        lead(version_number) over (partition by customer_id order by version_number) as next_version_number

    from versions

)

select customer_version_id
from ordered
where
    valid_to <= valid_from
    or (next_version_number is not null and (valid_to is null or valid_to > next_valid_from))
