"""The matching input: one row per contact id with normalised fields, built in DuckDB SQL.

Read from the raw rows (`salesforce.contacts`), because the step runs before dbt. Rows are
kept as dbt keeps them: exact duplicates collapse; rows without an id or with a birthdate
that does not parse are left out (dbt quarantines them); ids carried by several different
records (identity conflicts) are left out too, so they keep today's handling (`id~n`).
"""

from __future__ import annotations

import duckdb

from c360.identity.nicknames import nickname_pairs

RAW_COLUMNS = ("id", "name", "gender", "address", "mail", "birthdate")

# lower-case local part without dots and without a `+tag`, then the domain
EMAIL_NORM = (
    "regexp_replace(regexp_replace(split_part(email, '@', 1), '\\+.*$', ''), '[.]', '', 'g')"
    " || '@' || split_part(email, '@', 2)"
)

MATCHING_INPUT_SQL = f"""
with raw as (
    select
        nullif(trim(id), '') as contact_id,
        nullif(trim(name), '') as full_name,
        upper(nullif(trim(gender), '')) as gender,
        lower(nullif(trim(mail), '')) as email,
        nullif(trim(address), '') as address,
        nullif(trim(birthdate), '') as birthdate_text
    from raw_contacts
),
records as (
    select distinct * from raw where contact_id is not null
),
single as (
    select contact_id from records group by contact_id having count(*) = 1
),
typed as (
    select records.*, try_cast(birthdate_text as date) as birth_date
    from records join single using (contact_id)
)
select
    contact_id,
    lower(regexp_extract(full_name, '^([^ ]+)', 1)) as first_name,
    lower(regexp_extract(full_name, '([^ ]+)$', 1)) as surname,
    lower(left(full_name, 1)) as first_initial,
    gender,
    email,
    case when email like '%@%' then {EMAIL_NORM} end as email_norm,
    nullif(split_part(email, '@', 1), '') as email_local,
    case when email like '%@%' then nullif(split_part({EMAIL_NORM}, '@', 1), '') end as email_dotless,
    lower(regexp_replace(address, '[^A-Za-z0-9]', '', 'g')) as address_norm,
    nullif(regexp_extract(address, ',\\s*([0-9]{{4}})\\s*$', 1), '') as postcode,
    birth_date,
    year(birth_date) as birth_year,
    month(birth_date) as birth_month,
    day(birth_date) as birth_dom
from typed
where birthdate_text is null or birth_date is not null
"""


def matching_input(con: duckdb.DuckDBPyConnection) -> None:
    """Create table `matching_input` in `con` from the raw contacts relation `raw_contacts`;
    `first_name_forms` lists the other known forms of the first name (nicknames, long forms)."""
    values = ", ".join(f"('{a}', '{b}')" for a, b in nickname_pairs())  # letters only (nicknames.py)
    con.execute(f"create or replace temp table nicknames as select * from (values {values}) t(name, other)")
    con.execute(
        f"""create or replace table matching_input as
        with base as ({MATCHING_INPUT_SQL}),
        forms as (select name, list(other order by other) as forms from nicknames group by name)
        select base.*, coalesce(forms.forms, []::varchar[]) as first_name_forms
        from base left join forms on base.first_name = forms.name"""
    )
