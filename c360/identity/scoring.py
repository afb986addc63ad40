"""Pairwise precision and recall of clusters against a generator manifest's truth pairs."""

from __future__ import annotations

from itertools import combinations

import pandas as pd


def cluster_pairs(clusters: pd.DataFrame) -> set[tuple[str, str]]:
    """Every (smaller, larger) pair of contact ids put in the same person by `clusters`."""
    out: set[tuple[str, str]] = set()
    for members in clusters.groupby("person_id")["contact_id"]:
        ids = sorted(members[1])
        out.update(combinations(ids, 2))
    return out


def truth_pairs(manifest: dict) -> set[tuple[str, str]]:
    """The (smaller, larger) id pairs of one person, from `defects.contacts.same_person_new_id.pairs`."""
    pairs = manifest["defects"]["contacts"].get("same_person_new_id", {}).get("pairs", [])
    return {(min(a, b), max(a, b)) for a, b in pairs}


def precision_recall(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float]:
    """(precision, recall) of `found` against `truth` (1.0 when the denominator is empty)."""
    hits = len(found & truth)
    return (hits / len(found) if found else 1.0, hits / len(truth) if truth else 1.0)
