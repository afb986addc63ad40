"""Connected components of the accepted pairs, and the person key.

Person key (`person_id`) = the smallest member `contact_id` (text order). It is stable when
unrelated rows are added: a new record changes a person's key only when it joins that
person's cluster with a smaller id (docs/identity.md).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def components(ids: Iterable[str], edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """contact_id -> person_id (the smallest id of its connected component) for every id."""
    parent: dict[str, str] = {i: i for i in ids}

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # the smaller id stays the root
    return {i: find(i) for i in parent}


def contact_clusters(ids: list[str], accepted: pd.DataFrame) -> pd.DataFrame:
    """`contact_id, person_id, cluster_size, match_probability` for every id.

    `accepted` holds the accepted pairs (`contact_id_l, contact_id_r, match_probability`); a
    contact's match_probability is the highest of its accepted pairs (null for a one-record person).
    """
    person = components(ids, zip(accepted["contact_id_l"], accepted["contact_id_r"], strict=True))
    out = pd.DataFrame({"contact_id": list(person), "person_id": list(person.values())})
    out["cluster_size"] = out.groupby("person_id")["contact_id"].transform("size").astype("int64")
    best = pd.concat(
        [
            accepted[["contact_id_l", "match_probability"]].set_axis(["contact_id", "p"], axis=1),
            accepted[["contact_id_r", "match_probability"]].set_axis(["contact_id", "p"], axis=1),
        ]
    ).groupby("contact_id")["p"].max()
    out["match_probability"] = out["contact_id"].map(best).astype("float64")
    return out.sort_values("contact_id", ignore_index=True)
