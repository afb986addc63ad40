"""Audiences: conditions on profile fields, segment, spend, recency and behaviour in AND/OR groups.

An `Audience` is a tuple of `Group`s combined with `match` ("all" = AND, "any" = OR); a group is a
tuple of `Condition`s combined the same way. Every condition compiles to SQL over
`marts.customers as c` whose column names come from `FIELDS` (a whitelist, never from the
definition) and whose values travel only as bound `?` parameters. "Within N days" counts back
from the data's latest transaction date (as the Overview does), not from today.

Named audiences are kept in a JSON file the app owns (`audiences.json` under
`c360.config.app_data_dir()`), never in the dbt schemas; a definition also round-trips through
the URL (`encode` / `decode`). The export carries the salted partner key
(`sha256(share salt || customer_id)`, as `make share`) and, for activation, the SHA-256 of the
trimmed, lower-cased email; raw ids and PII only when `C360_SHOW_PII=1`.

Modules: `conditions` (the definition, its SQL and its URL form), `store` (saved audiences),
`queries` (size, overlap, members, memberships), `export` (CSV and sidecar). Everything is
re-exported here, so `from c360.app import audiences as aud` reads `aud.Condition`, `aud.encode` ...
"""

from c360.app.audiences.conditions import (
    FIELDS,
    MATCHES,
    MAX_CONDITIONS,
    MAX_DAYS,
    MAX_GROUPS,
    MAX_NAME,
    MAX_TEXT,
    MAX_VALUES,
    OPERATORS,
    Audience,
    AudienceError,
    Condition,
    FieldSpec,
    Group,
    decode,
    encode,
    valid_name,
)
from c360.app.audiences.export import audience_csv, audience_definition, email_hash, export_frame, sha256_text
from c360.app.audiences.queries import (
    TTL_SECONDS,
    audience_members,
    audience_overlap,
    audience_size,
    choice_options,
    latest_date,
    memberships,
)
from c360.app.audiences.store import STORE_FILE, AudienceStore

__all__ = [
    "FIELDS",
    "MATCHES",
    "MAX_CONDITIONS",
    "MAX_DAYS",
    "MAX_GROUPS",
    "MAX_NAME",
    "MAX_TEXT",
    "MAX_VALUES",
    "OPERATORS",
    "STORE_FILE",
    "TTL_SECONDS",
    "Audience",
    "AudienceError",
    "AudienceStore",
    "Condition",
    "FieldSpec",
    "Group",
    "audience_csv",
    "audience_definition",
    "audience_members",
    "audience_overlap",
    "audience_size",
    "choice_options",
    "decode",
    "email_hash",
    "encode",
    "export_frame",
    "latest_date",
    "memberships",
    "sha256_text",
    "valid_name",
]
