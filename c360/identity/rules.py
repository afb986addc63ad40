"""Deterministic rules, applied before the probabilistic model: a pair they find is a match."""

from __future__ import annotations

import duckdb

# Same normalised email (lower case, dots and `+tag` removed from the local part): an address
# is personal, so two records with it are one person whatever the other fields say.
SAME_EMAIL_SQL = """
select l.contact_id as contact_id_l, r.contact_id as contact_id_r
from matching_input l
join matching_input r on l.email_norm = r.email_norm and l.contact_id < r.contact_id
"""


def deterministic_pairs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(smaller id, larger id) pairs with the same normalised email, from table `matching_input`."""
    return [(a, b) for a, b in con.execute(SAME_EMAIL_SQL).fetchall()]
