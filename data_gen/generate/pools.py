"""Pools of Australian-style names, streets and localities, built once with Faker.

Faker is called a few thousand times per run (not once per row); rows then sample
from these pools with numpy. Faker is seeded from the run's numpy generator, so the
pools are reproducible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from faker import Faker

# Rough share of the Australian population per state, with its postcode range.
STATES: tuple[tuple[str, float, int, int], ...] = (
    ("NSW", 0.31, 2000, 2999),
    ("VIC", 0.26, 3000, 3999),
    ("QLD", 0.20, 4000, 4999),
    ("WA", 0.11, 6000, 6797),
    ("SA", 0.07, 5000, 5799),
    ("TAS", 0.02, 7000, 7799),
    ("ACT", 0.02, 2600, 2618),
    ("NT", 0.01, 800, 899),
)
EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 0.36),
    ("hotmail.com", 0.20),
    ("yahoo.com", 0.14),
    ("outlook.com", 0.10),
    ("bigpond.com", 0.08),
    ("icloud.com", 0.07),
    ("optusnet.com.au", 0.05),
)
_SAFE = re.compile(r"^[A-Za-z][A-Za-z' -]*[A-Za-z]$")


@dataclass(frozen=True)
class Pools:
    """Distinct values to sample from; `localities` are `Suburb, STATE, postcode`."""

    female_first: list[str]
    male_first: list[str]
    last: list[str]
    streets: list[str]
    localities: list[str]
    locality_state: np.ndarray  # index into STATES per locality


def _distinct(make: object, count: int, tries: int) -> list[str]:
    """Up to `count` distinct CSV-safe values from `make()` (first occurrences, in order)."""
    seen: dict[str, None] = {}
    for _ in range(tries):
        value = make()  # type: ignore[operator]
        if _SAFE.match(value):
            seen.setdefault(value, None)
            if len(seen) >= count:
                break
    return list(seen)


def build_pools(rng: np.random.Generator, localities: int = 1500) -> Pools:
    """Build the pools with an `en_AU` Faker seeded from `rng`."""
    fake = Faker("en_AU")
    fake.seed_instance(int(rng.integers(0, 2**31 - 1)))
    female = _distinct(fake.first_name_female, 600, 2000)
    male = _distinct(fake.first_name_male, 600, 2000)
    both = set(female) & set(male)  # a name must tell the gender
    female = [n for n in female if n not in both]
    male = [n for n in male if n not in both]
    last = _distinct(fake.last_name, 1000, 4000)
    streets = _distinct(fake.street_name, 2000, 2000)
    suburbs = _distinct(fake.city, localities, localities)
    weights = np.array([s[1] for s in STATES])
    state_idx = rng.choice(len(STATES), size=len(suburbs), p=weights / weights.sum())
    lows = np.array([s[2] for s in STATES])[state_idx]
    highs = np.array([s[3] for s in STATES])[state_idx]
    postcodes = rng.integers(lows, highs + 1)
    locs = [
        f"{sub}, {STATES[s][0]}, {pc:04d}"
        for sub, s, pc in zip(suburbs, state_idx.tolist(), postcodes.tolist(), strict=True)
    ]
    return Pools(female, male, last, streets, locs, state_idx)


def username_stem(name: str) -> str:
    """Lowercase ASCII letters of a name, for usernames and emails."""
    return re.sub(r"[^a-z]", "", name.lower())
