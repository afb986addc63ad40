"""Deterministic rules, applied before the probabilistic model: a pair they find is a match."""

from __future__ import annotations

import duckdb

# Same normalised email (lower case, dots and `+tag` removed from the local part) and a
# birthdate that does not contradict it (equal, typed day-first, or missing on one side): an
# address is personal, but `jane.doe@` and `janedoe@` at a provider that keeps dots can be two
# people of the same name, and then their birthdates differ.
SAME_EMAIL_SQL = """
select l.contact_id as contact_id_l, r.contact_id as contact_id_r
from matching_input l
join matching_input r on l.email_norm = r.email_norm and l.contact_id < r.contact_id
where l.birth_date is null or r.birth_date is null or l.birth_date = r.birth_date
    or (l.birth_year = r.birth_year and l.birth_month = r.birth_dom and l.birth_dom = r.birth_month)
"""


def deterministic_pairs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(smaller id, larger id) pairs of table `matching_input` the rule accepts (SAME_EMAIL_SQL)."""
    return [(a, b) for a, b in con.execute(SAME_EMAIL_SQL).fetchall()]
