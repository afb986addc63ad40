"""The RFM segment rules of the project guide, recomputed for tests (one copy for every test)."""

from __future__ import annotations


def segment(r: int | None, f: int | None, m: int | None) -> str:
    """The segment of scores (r, f, m), first match wins; any score missing: Prospect."""
    if r is None or f is None or m is None:
        return "Prospect"
    if r >= 4 and f >= 4 and m >= 4:
        return "Champions"
    if r >= 3 and f >= 4:
        return "Loyal Customers"
    if r >= 4 and f <= 2:
        return "New Customers"
    if r >= 3 and f >= 2:
        return "Potential Loyalists"
    if r <= 2 and f >= 4 and m >= 4:
        return "Cannot Lose Them"
    if r <= 2 and f >= 3:
        return "At Risk"
    if r <= 2:
        return "Hibernating"
    return "Needs Attention"
