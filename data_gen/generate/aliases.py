"""The `same_person_new_id` defect: a second contact for an existing person under a new id.

A second sign-up, a CRM migration or a shop account beside a newsletter account: the
alias row carries a fresh uuid and realistic variations of the person's record:

- first name: a nickname or its long form (`Jon`/`Jonathan`, `Liz`/`Elizabeth`), else the
  same name; surname changed (another surname from the pool) for some;
- email: the same address, the local part without its dot (`jane.doe@` -> `janedoe@`),
  with digits appended, or built from the new name; sometimes another provider;
- address: a new one (a move) for about half (never with a new surname and a new email local
  part at once: such a record is another person to anyone);
- birthdate: typed day-first (day and month swapped, when both are at most 12) for some.

Gender stays. About 40 % of the person's purchases then carry the alias id
(`alias_purchases`). The truth pairs (original id, alias id) are in the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_gen.generate.text import civil_from_days

# long form -> short forms; the reverse direction is used too (a `Jon` becomes `Jonathan`)
NICKNAMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Jonathan", ("Jon", "Jonny")), ("John", ("Jack", "Johnny")), ("William", ("Will", "Bill", "Liam")),
    ("Robert", ("Rob", "Bob", "Bobby")), ("Richard", ("Rick", "Dick")), ("James", ("Jim", "Jamie")),
    ("Michael", ("Mike", "Mick")), ("Thomas", ("Tom", "Tommy")), ("Christopher", ("Chris",)),
    ("Matthew", ("Matt",)), ("Daniel", ("Dan", "Danny")), ("Joseph", ("Joe", "Joey")),
    ("Benjamin", ("Ben",)), ("Samuel", ("Sam",)), ("Alexander", ("Alex",)), ("Andrew", ("Andy", "Drew")),
    ("Anthony", ("Tony",)), ("Nicholas", ("Nick",)), ("Joshua", ("Josh",)), ("Timothy", ("Tim",)),
    ("Steven", ("Steve",)), ("Stephen", ("Steve",)), ("Edward", ("Ed", "Eddie")), ("Peter", ("Pete",)),
    ("David", ("Dave",)), ("Gregory", ("Greg",)), ("Jeffrey", ("Jeff",)), ("Kenneth", ("Ken",)),
    ("Ronald", ("Ron",)), ("Donald", ("Don",)), ("Lachlan", ("Lachie",)), ("Patrick", ("Pat",)),
    ("Elizabeth", ("Liz", "Beth", "Lizzie")), ("Jennifer", ("Jen", "Jenny")),
    ("Katherine", ("Kate", "Kathy")),
    ("Catherine", ("Cathy", "Kate")), ("Margaret", ("Maggie", "Peggy")), ("Rebecca", ("Becky", "Bec")),
    ("Jessica", ("Jess",)), ("Samantha", ("Sam",)), ("Victoria", ("Vicky", "Tori")),
    ("Alexandra", ("Alex",)), ("Christine", ("Chris",)), ("Patricia", ("Pat", "Trish")),
    ("Susan", ("Sue",)), ("Deborah", ("Deb", "Debbie")), ("Kimberly", ("Kim",)), ("Amanda", ("Mandy",)),
    ("Melissa", ("Mel",)), ("Stephanie", ("Steph",)), ("Natalie", ("Nat",)), ("Abigail", ("Abby",)),
    ("Madeline", ("Maddie",)), ("Charlotte", ("Charlie",)), ("Isabella", ("Bella", "Izzy")),
    ("Jacqueline", ("Jackie",)), ("Kathleen", ("Kath",)), ("Emily", ("Em",)), ("Olivia", ("Liv",)),
)  # fmt: skip


def nickname_map() -> dict[str, tuple[str, ...]]:
    """Every name of NICKNAMES -> the names it may be written as instead (both directions)."""
    out: dict[str, list[str]] = {}
    for long, shorts in NICKNAMES:
        out.setdefault(long, []).extend(shorts)
        for short in shorts:
            out.setdefault(short, []).append(long)
    return {k: tuple(dict.fromkeys(v)) for k, v in out.items()}


@dataclass(frozen=True)
class AliasDraw:
    """Per alias (index j = j-th alias): its source person and the variations drawn."""

    source: np.ndarray  # person index the alias belongs to
    first: list[str]  # first name shown on the alias row
    new_surname: np.ndarray  # bool: surname replaced by another
    email_style: np.ndarray  # 0 same, 1 dot removed, 2 digits appended, 3 new name, see `alias_username`
    new_domain: np.ndarray  # bool: another email provider
    new_address: np.ndarray  # bool: moved
    birth_day: np.ndarray  # days since epoch shown (day-first swap applied where drawn)


def draw_aliases(
    rng: np.random.Generator, source: np.ndarray, first_names: list[str], birth_day: np.ndarray
) -> AliasDraw:
    """The variations of the aliases of people `source` (their first names and birth days given)."""
    k = len(source)
    nick = nickname_map()
    first = []
    for name, u in zip(first_names, rng.random(k).tolist(), strict=True):
        options = nick.get(name, ())
        first.append(options[int(u * len(options))] if options and u < 0.9 else name)
    day_first = rng.random(k) < 0.2
    year, month, day = civil_from_days(birth_day)
    swap = day_first & (day <= 12) & (day != month)
    months = ((year - 1970) * 12 + np.where(swap, day, month) - 1).astype("datetime64[M]")
    swapped = months.astype("datetime64[D]").astype(np.int64) + np.where(swap, month, day) - 1
    new_surname = rng.random(k) < 0.25
    email_style = rng.choice(4, size=k, p=[0.2, 0.3, 0.25, 0.25])
    new_address = rng.random(k) < 0.5
    # a person rarely changes surname, email and address at once: then the email keeps its
    # local part (same address or the dot toggled)
    email_style = np.where(new_surname & new_address & (email_style >= 2), email_style - 2, email_style)
    return AliasDraw(
        source=source,
        first=first,
        new_surname=new_surname,
        email_style=email_style,
        new_domain=rng.random(k) < 0.3,
        new_address=new_address,
        birth_day=np.where(swap, swapped, birth_day),
    )


def alias_username(style: int, original: str, first: str, last: str, digits: int) -> str:
    """The alias's username (its email's local part) for `style` (see AliasDraw.email_style)."""
    if style == 0:
        return original
    if style == 1:
        # the dot removed; a local part without one stays (building `first.last` here would use
        # the alias's new surname, breaking the rule of `draw_aliases` on changing it all at once)
        return original.replace(".", "")
    if style == 2:
        return f"{original}{digits:02d}"
    return f"{first}.{last}" if digits % 2 else f"{first[:1]}{last}{digits:02d}"


def alias_purchases(
    rng: np.random.Generator, customer: np.ndarray, alias_of_person: np.ndarray
) -> np.ndarray:
    """Per purchase, the person index whose id the row shows: the alias for about 40 % of the
    purchases of a person who has one (`alias_of_person[p]` = alias index or -1), else the buyer."""
    alias = alias_of_person[customer]
    moved = (alias >= 0) & (rng.random(len(customer)) < 0.4)
    return np.where(moved, alias, customer)
