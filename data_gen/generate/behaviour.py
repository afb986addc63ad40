"""Latent customer behaviour: personas, tastes, purchase rhythm and category sequences.

Everything is vectorised over customers or transactions; the only Python loop runs
over the *position* of a purchase in a customer's history (a few hundred steps at
most), each step handling every customer that has that many purchases.

Planted structure a recommender can learn:
- each customer has a persona (mildly tied to gender and age) and a Dirichlet taste
  over the categories;
- after buying in category A, the next purchase repeats A with probability
  `REPEAT`, follows the transition row `TRANSITIONS[A]` with probability `FOLLOW`,
  and otherwise draws from the customer's taste. The strongest transitions are listed
  in `PLANTED_TRANSITIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from data_gen.generate.text import DAY_MS, frozen

CATEGORIES: tuple[str, ...] = (
    "Apps & Games",
    "Beauty",
    "Books",
    "Clothing, Shoes & Accessories",
    "Movies & TV",
    "Sports, Fitness & Outdoors",
    "Kitchen",
)
APPS, BEAUTY, BOOKS, CLOTHING, MOVIES, SPORTS, KITCHEN = range(7)
# Median price of one item per category (AUD) and log-normal spread.
UNIT_PRICE = frozen([9.0, 28.0, 19.0, 48.0, 16.0, 55.0, 38.0])
PRICE_SIGMA = 0.45
ITEM_COUNT_P = frozen([0.46, 0.25, 0.14, 0.10, 0.05])  # 1..5 items

# name: (taste weights over CATEGORIES, weight by [young F, young M, mid F, mid M, old F, old M])
PERSONAS: MappingProxyType[str, tuple[tuple[float, ...], tuple[float, ...]]] = MappingProxyType(
    {
        "gamer": ((6, 0.3, 0.6, 0.8, 3, 0.6, 0.2), (1.0, 3.0, 0.6, 1.5, 0.2, 0.4)),
        "fashion": ((0.4, 4, 0.5, 6, 0.6, 0.8, 0.3), (3.0, 1.0, 2.0, 0.7, 1.0, 0.4)),
        "reader": ((0.3, 0.5, 6, 0.6, 2, 0.3, 0.8), (1.0, 0.8, 1.4, 1.2, 2.5, 2.0)),
        "home_cook": ((0.2, 0.6, 2, 0.5, 0.6, 0.3, 6), (0.6, 0.4, 1.6, 1.0, 2.2, 1.4)),
        "outdoors": ((0.5, 0.3, 0.6, 2.5, 0.6, 6, 0.4), (1.0, 2.2, 1.0, 2.0, 0.6, 1.0)),
        "family": ((2, 1, 1.5, 2.5, 2, 1, 2.5), (0.6, 0.4, 2.4, 1.8, 0.8, 0.6)),
        "cinephile": ((2.5, 0.3, 1.5, 0.5, 6, 0.3, 0.3), (1.0, 1.4, 0.8, 1.2, 1.0, 1.2)),
        "generalist": ((1, 1, 1, 1, 1, 1, 1), (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)),
    }
)
PERSONA_NAMES: tuple[str, ...] = tuple(PERSONAS)
REPEAT = 0.30
FOLLOW = 0.35
PLANTED_TRANSITIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "Sports, Fitness & Outdoors": "Clothing, Shoes & Accessories",
        "Kitchen": "Books",
        "Movies & TV": "Apps & Games",
        "Apps & Games": "Movies & TV",
        "Beauty": "Clothing, Shoes & Accessories",
        "Books": "Kitchen",
        "Clothing, Shoes & Accessories": "Beauty",
    }
)
PROSPECT_SHARE = 0.06  # customers who never buy
CHURN_SHARE = 0.35
MEAN_ORDERS = 10.0


def transition_matrix() -> np.ndarray:
    """Row-stochastic (7, 7): 70% on the planted next category, the rest spread evenly."""
    t = np.full((7, 7), 0.30 / 5)
    np.fill_diagonal(t, 0.0)
    for src, dst in PLANTED_TRANSITIONS.items():
        t[CATEGORIES.index(src), CATEGORIES.index(dst)] = 0.70
    return t / t.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Customers:
    """One entry per person (before any defect)."""

    is_female: np.ndarray  # bool
    age: np.ndarray  # whole years at `now`
    birth_day: np.ndarray  # days since epoch
    persona: np.ndarray  # index into PERSONA_NAMES
    taste: np.ndarray  # (n, 7) cumulative taste
    order_count: np.ndarray
    first_ms: np.ndarray  # acquisition time (ms)
    last_ms: np.ndarray  # churn time or end of window (ms)
    spend_factor: np.ndarray


@dataclass(frozen=True)
class Transactions:
    """One entry per purchase, grouped by customer and sorted by time inside a customer."""

    customer: np.ndarray  # index into Customers
    at_ms: np.ndarray
    category: np.ndarray  # index into CATEGORIES
    item_count: np.ndarray
    amount_tenths: np.ndarray


def simulate_customers(
    rng: np.random.Generator, n: int, start_ms: int, end_ms: int, now_day: int
) -> Customers:
    """Demographics, persona, taste and purchase rhythm of `n` people."""
    is_female = rng.random(n) < 0.51
    age = (18 + np.floor(rng.beta(2.0, 3.2, n) * 72)).astype(np.int64)  # 18..89
    birth_day = now_day - np.floor((age + rng.uniform(0.02, 0.98, n)) * 365.2425).astype(np.int64)
    band = np.minimum((age >= 35).astype(int) + (age >= 55), 2) * 2 + (~is_female)
    weights = np.array([p[1] for p in PERSONAS.values()]).T  # (6 bands, personas)
    cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    persona = (rng.random(n)[:, None] > cum[band]).sum(axis=1)
    alpha = np.array([p[0] for p in PERSONAS.values()])[persona] * 0.8
    taste = rng.gamma(alpha)
    taste = np.cumsum(taste / taste.sum(axis=1, keepdims=True), axis=1)
    span = end_ms - start_ms
    acquired_before = rng.random(n) < 0.3
    first = np.where(acquired_before, 0.0, rng.beta(1.3, 1.0, n)) * span
    churn = rng.random(n) < CHURN_SHARE
    last = np.where(churn, np.minimum(first + rng.exponential(120.0, n) * DAY_MS, span), span)
    active_years = np.maximum(last - first, DAY_MS) / (365.0 * DAY_MS)
    rate = rng.lognormal(0.0, 0.95, n)
    buyer = rng.random(n) >= PROSPECT_SHARE
    expected = (1 + rate * active_years)[buyer].mean() if buyer.any() else 1.0
    scale = max(MEAN_ORDERS / max(buyer.mean(), 1e-9) - 1, 0.0) / max(expected - 1, 1e-9)
    orders = np.where(buyer, 1 + rng.poisson(rate * active_years * scale), 0)
    return Customers(
        is_female=is_female,
        age=age,
        birth_day=birth_day,
        persona=persona,
        taste=taste,
        order_count=orders.astype(np.int64),
        first_ms=(start_ms + first).astype(np.int64) // 1000 * 1000 + 1000,  # whole seconds
        last_ms=(start_ms + last).astype(np.int64) // 1000 * 1000,
        spend_factor=rng.lognormal(0.0, 0.5, n),
    )


def _day_intensity(start_ms: int, days: int) -> np.ndarray:
    """Relative purchase volume per day: weekends, November/December peak, slow growth."""
    day0 = start_ms // DAY_MS
    d = np.arange(day0, day0 + days + 1)
    weekday = (d + 3) % 7  # 0 = Monday
    month = d.astype("datetime64[D]").astype("datetime64[M]").astype(int) % 12 + 1
    week_factor = np.array([0.9, 0.9, 0.95, 1.0, 1.1, 1.35, 1.3])[weekday]
    month_factor = np.array([0.85, 0.85, 0.95, 0.95, 1.0, 1.0, 1.05, 1.0, 0.95, 1.0, 1.3, 1.7])[month - 1]
    return week_factor * month_factor * (1 + 0.3 * np.arange(len(d)) / max(days, 1))


HOUR_WEIGHTS = frozen([2.0, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 8, 7, 6, 6, 7, 8, 10, 11, 11, 8, 4])


def _times(
    rng: np.random.Generator, cust: Customers, owner: np.ndarray, start_ms: int, days: int
) -> np.ndarray:
    """Purchase times between each owner's acquisition and churn, shaped by day and hour."""
    w = _day_intensity(start_ms, days)
    cum = np.concatenate([[0.0], np.cumsum(w)])
    day0 = (start_ms // DAY_MS) * DAY_MS

    def to_w(ms: np.ndarray) -> np.ndarray:
        x = (ms - day0) / DAY_MS
        i = np.clip(np.floor(x).astype(np.int64), 0, len(w) - 1)
        return cum[i] + (x - i) * w[i]

    lo, hi = to_w(cust.first_ms[owner]), to_w(cust.last_ms[owner])
    u = lo + rng.random(len(owner)) * (hi - lo)
    day = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, len(w) - 1)
    hour = np.searchsorted(np.cumsum(HOUR_WEIGHTS / HOUR_WEIGHTS.sum()), rng.random(len(owner)))
    ms = day0 + day * DAY_MS + np.minimum(hour, 23) * 3_600_000 + rng.integers(0, 3600, len(owner)) * 1000
    lo_ms, hi_ms = cust.first_ms[owner], cust.last_ms[owner]
    ms = np.where(ms < lo_ms, ms + DAY_MS, ms)  # hour drawn before acquisition: next day
    ms = np.where(ms >= hi_ms, ms - DAY_MS, ms)
    return np.clip(ms, lo_ms, hi_ms - 1000)


def simulate_transactions(
    rng: np.random.Generator, cust: Customers, start_ms: int, days: int
) -> Transactions:
    """All purchases: times, categories following the planted sequence model, prices."""
    counts = cust.order_count
    order = np.argsort(-counts, kind="stable")  # customers with most purchases first
    sorted_counts = counts[order]
    starts = np.concatenate([[0], np.cumsum(sorted_counts)[:-1]])
    total = int(sorted_counts.sum())
    owner = np.repeat(order, sorted_counts)
    at = _times(rng, cust, owner, start_ms, days)
    # sort times inside each customer's block without a lexsort: offset blocks apart
    block = np.repeat(np.arange(len(order), dtype=np.int64), sorted_counts)
    at = np.sort(block * (1 << 42) + (at - start_ms + DAY_MS)) - block * (1 << 42) + start_ms - DAY_MS
    category = np.empty(total, dtype=np.int64)
    cum_t = np.cumsum(transition_matrix(), axis=1)
    neg_counts = -sorted_counts
    for k in range(int(sorted_counts[0]) if total else 0):
        active = int(np.searchsorted(neg_counts, -k, side="left"))  # customers with > k purchases
        rows = starts[:active] + k
        u = rng.random((2, active))
        from_taste = (u[1][:, None] > cust.taste[order[:active]]).sum(axis=1)
        if k == 0:
            category[rows] = from_taste
            continue
        prev = category[rows - 1]
        follow = (u[1][:, None] > cum_t[prev]).sum(axis=1)
        pick = np.where(u[0] < REPEAT, prev, np.where(u[0] < REPEAT + FOLLOW, follow, from_taste))
        category[rows] = np.minimum(pick, 6)
    items = 1 + np.searchsorted(np.cumsum(ITEM_COUNT_P), rng.random(total) * ITEM_COUNT_P.sum())
    items = np.minimum(items, 5)
    unit = UNIT_PRICE[category] * rng.lognormal(0.0, PRICE_SIGMA, total)
    amount = unit * items**0.9 * cust.spend_factor[owner]
    tenths = np.clip(np.round(amount * 10), 1, 999_999).astype(np.int64)
    return Transactions(owner, at.astype(np.int64), category, items.astype(np.int64), tenths)
