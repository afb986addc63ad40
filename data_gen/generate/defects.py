"""Defect injection: which rows get which defect, at documented and configurable rates.

Every defective row carries exactly ONE kind, so the counts in `manifest.json` can be
recomputed exactly from the files. A rate is the share of base rows of its file
(people for contacts, purchases for transactions); the count is `round(rate * rows)`,
or fewer when not enough rows qualify (stale rows must predate the old load).

| file | kind | default rate | what the defective row looks like |
| --- | --- | --- | --- |
| contacts | `shared_id` | 0.002 | another person carries an existing id (both rows counted) |
| contacts | `duplicate_contact` | 0.003 | exact copy of a clean row (the later row is counted) |
| contacts | `contact_missing_value` | 0.005 | one of `gender, birthdate, address, mail` empty |
| contacts | `contact_stale_batch` | 0.01 | `_loaded_at_utc` of an old load, 3-10 days earlier |
| contacts | `same_person_new_id` | 0.02 | second contact of a person, new id, variations (`aliases.py`) |
| transactions | `duplicate_transaction` | 0.003 | exact copy of a clean row (the later row is counted) |
| transactions | `orphan_contact_id` | 0.002 | buyer's id with one char substituted/deleted/transposed |
| transactions | `unknown_category` | 0.002 | category outside the seven, e.g. `Garden`, `Boks` |
| transactions | `transaction_missing_value` | 0.003 | amount, category, transaction_date or item_count empty|
| transactions | `non_numeric_amount` | 0.001 | amount like `abc`, `12,50`, `N/A` |
| transactions | `zero_amount` | 0.0005 | amount `0` or `0.0` |
| transactions | `negative_amount` | 0.0005 | amount below zero, like `-23.5` |
| transactions | `unparseable_date` | 0.001 | date like `2023-13-45 10:21:07.000`, `yesterday` |
| transactions | `future_date` | 0.001 | well-formed date 1-180 days after `now` |
| transactions | `transaction_stale_batch` | 0.01 | `_loaded_at_utc` of the old load (purchase predates it) |

The shared-id person's purchases carry the shared id; about 40 % of the purchases of a person
with an alias carry the alias id. Preset `heavy` is 5x `default` (`same_person_new_id` 0.05);
preset `none` sets every rate to 0. `same_person_new_id` is 2 % of people by default (issue #21):
`make build` merges them back into one customer (identity resolution, docs/identity.md); a plain
`dbt build` without the identity step keeps one customer per contact id.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

CONTACT_KINDS = (
    "shared_id", "duplicate_contact", "contact_missing_value", "contact_stale_batch", "same_person_new_id",
)  # fmt: skip
TRANSACTION_KINDS = (
    "duplicate_transaction",
    "orphan_contact_id",
    "unknown_category",
    "transaction_missing_value",
    "non_numeric_amount",
    "zero_amount",
    "negative_amount",
    "unparseable_date",
    "future_date",
    "transaction_stale_batch",
)
CONTACT_MISSING_COLUMNS = ("gender", "birthdate", "address", "mail")
TRANSACTION_MISSING_COLUMNS = ("amount", "category", "transaction_date", "item_count")
UNKNOWN_CATEGORIES = ("Garden", "Toys", "Boks", "Electronics", "Pet Supplies", "Beuty", "Movies and TV")
NON_NUMERIC_AMOUNTS = ("abc", "12,50", "N/A", "$45.00", "twelve", "1O.5")
ZERO_AMOUNTS = ("0", "0.0")
_HEXCHARS = "0123456789abcdef"


@dataclass(frozen=True)
class DefectRates:
    """Share of base rows per defect kind (see the module table)."""

    shared_id: float = 0.002
    duplicate_contact: float = 0.003
    contact_missing_value: float = 0.005
    contact_stale_batch: float = 0.01
    same_person_new_id: float = 0.02
    duplicate_transaction: float = 0.003
    orphan_contact_id: float = 0.002
    unknown_category: float = 0.002
    transaction_missing_value: float = 0.003
    non_numeric_amount: float = 0.001
    zero_amount: float = 0.0005
    negative_amount: float = 0.0005
    unparseable_date: float = 0.001
    future_date: float = 0.001
    transaction_stale_batch: float = 0.01

    def validate(self) -> None:
        """Raise ValueError unless every rate is in [0, 1] and each file's total is at most 0.5."""
        values = dataclasses.asdict(self)
        for name, value in values.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"defect rate {name}={value} must be between 0 and 1")
        for kinds in (CONTACT_KINDS, TRANSACTION_KINDS):
            # a shared id touches two rows (the owner's and the second person's)
            total = sum(values[k] for k in kinds) + (values["shared_id"] if "shared_id" in kinds else 0)
            if total > 0.5:
                raise ValueError(f"defect rates of {', '.join(kinds)} add up to {total:.3f} (> 0.5)")


PRESETS: MappingProxyType[str, DefectRates] = MappingProxyType(
    {
        "none": DefectRates(**{f.name: 0.0 for f in dataclasses.fields(DefectRates)}),
        "default": DefectRates(),
        "heavy": DefectRates(
            **{f.name: f.default * 5 for f in dataclasses.fields(DefectRates)} | {"same_person_new_id": 0.05}
        ),
    }
)


def resolve_rates(defects: str | DefectRates, overrides: dict[str, float] | None = None) -> DefectRates:
    """A preset name or rates object, with per-kind overrides applied and validated."""
    if isinstance(defects, str):
        if defects not in PRESETS:
            raise ValueError(f"unknown defect preset {defects!r}; use one of {', '.join(PRESETS)}")
        defects = PRESETS[defects]
    rates = dataclasses.replace(defects, **{k: v for k, v in (overrides or {}).items() if v is not None})
    rates.validate()
    return rates


class RowPicker:
    """Picks disjoint sets of rows so that no row gets two defect kinds."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        """Start with all `n` rows free."""
        self.rng = rng
        self.taken = np.zeros(n, dtype=bool)

    def pick(self, count: int, eligible: np.ndarray | None = None) -> np.ndarray:
        """`count` free rows (sorted), optionally only where `eligible`; marks them taken.

        Fewer when fewer rows qualify (e.g. a 1-day window has no purchase older than
        the stale load); the manifest records the number actually placed.
        """
        free = ~self.taken if eligible is None else (~self.taken & eligible)
        candidates = np.flatnonzero(free)
        count = min(count, len(candidates))
        chosen = np.sort(self.rng.choice(candidates, size=count, replace=False)) if count else candidates[:0]
        self.taken[chosen] = True
        return chosen


def near_miss(rng: np.random.Generator, value: str) -> tuple[str, str]:
    """`value` with one hex character substituted or deleted, or two adjacent ones transposed."""
    hex_pos = [i for i, ch in enumerate(value) if ch != "-"]
    op = ("substitution", "deletion", "transposition")[int(rng.integers(0, 3))]
    if op == "transposition":
        pairs = [
            i for i in range(len(value) - 1) if value[i] != "-" != value[i + 1] and value[i] != value[i + 1]
        ]
        if pairs:
            i = pairs[int(rng.integers(0, len(pairs)))]
            return value[:i] + value[i + 1] + value[i] + value[i + 2 :], op
        op = "substitution"
    i = hex_pos[int(rng.integers(0, len(hex_pos)))]
    if op == "deletion":
        return value[:i] + value[i + 1 :], op
    other = [c for c in _HEXCHARS if c != value[i]]
    return value[:i] + other[int(rng.integers(0, len(other)))] + value[i + 1 :], op


def amount_defects(rng: np.random.Generator, kind: str, tenths: np.ndarray) -> list[str]:
    """Text of a defective amount per row for `non_numeric_amount`, `zero_amount`, `negative_amount`."""
    n = len(tenths)
    if kind == "non_numeric_amount":
        return [NON_NUMERIC_AMOUNTS[i] for i in rng.integers(0, len(NON_NUMERIC_AMOUNTS), n)]
    if kind == "zero_amount":
        return [ZERO_AMOUNTS[i] for i in rng.integers(0, len(ZERO_AMOUNTS), n)]
    return [f"-{t // 10}.{t % 10}" for t in tenths.tolist()]


def unparseable_dates(rng: np.random.Generator, year: int, n: int) -> list[str]:
    """Transaction dates no parser should accept."""
    forms = (
        f"{year}-13-45 10:21:07.000",
        "yesterday",
        f"{year}-02-30 14:03:11.000",
        "N/A",
        f"{year}/31/12",
        "32/01/" + str(year),
    )
    return [forms[i] for i in rng.integers(0, len(forms), n)]
