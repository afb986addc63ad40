"""Known nickname pairs for the first-name comparison (the generator's list, lower case)."""

from __future__ import annotations

from data_gen.generate.aliases import nickname_map


def nickname_pairs() -> list[tuple[str, str]]:
    """(name, other form) pairs in lower case, both directions, letters only (safe in SQL)."""
    pairs = {
        (a.lower(), b.lower()) for a, others in nickname_map().items() for b in others
    }
    return sorted(p for p in pairs if p[0].isalpha() and p[1].isalpha())
