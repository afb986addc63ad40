"""The contacts table: people, their identities, defects and row order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_gen.generate.aliases import alias_username, draw_aliases
from data_gen.generate.behaviour import Customers
from data_gen.generate.defects import CONTACT_MISSING_COLUMNS, DefectRates, RowPicker
from data_gen.generate.output import blank, fixed, take
from data_gen.generate.pools import EMAIL_DOMAINS, Pools, username_stem
from data_gen.generate.text import csv_quote, date_matrix, uuid_matrix

CONTACT_COLUMNS = ("id", "username", "name", "gender", "address", "mail", "birthdate", "_loaded_at_utc")


@dataclass(frozen=True)
class Contacts:
    """Per person values plus the output order (`rows[i]` = person shown on data row i + 1)."""

    id_mat: np.ndarray  # (n, 36) own uuid text per person
    id_owner: np.ndarray  # whose uuid the person's rows carry (differs for shared ids)
    first: list[str]
    first_code: np.ndarray
    last: list[str]
    last_code: np.ndarray
    username: pa.Array
    domain_code: np.ndarray
    is_female: np.ndarray
    birth_day: np.ndarray
    address: pa.Array
    stale: np.ndarray
    missing: np.ndarray  # -1 or index into CONTACT_MISSING_COLUMNS
    rows: np.ndarray
    is_copy: np.ndarray  # output row is a duplicate copy
    defects: dict[str, np.ndarray]  # kind -> base rows (people; aliases are people n.. too)
    alias_of_person: np.ndarray  # per person: index of their alias (same_person_new_id) or -1


def _usernames(rng: np.random.Generator, first: pa.Array, last: pa.Array) -> pa.Array:
    """Usernames in the styles of the sample (`davismary`, `lisa83`, `sbell`), made unique."""
    n = len(first)
    digits = take([f"{i:02d}" for i in range(100)], rng.integers(10, 100, n))
    initial = pc.utf8_slice_codeunits(first, 0, 1)
    styles = [
        pc.binary_join_element_wise(last, first, ""),
        pc.binary_join_element_wise(first, digits, ""),
        pc.binary_join_element_wise(initial, last, ""),
        pc.binary_join_element_wise(first, last, ""),
        pc.binary_join_element_wise(first, last, "."),
        pc.binary_join_element_wise(last, initial, digits, ""),
    ]
    style = rng.choice(len(styles), size=n, p=[0.25, 0.2, 0.2, 0.15, 0.1, 0.1])
    names = pc.choose(pa.array(style), *styles)
    for _ in range(12):
        codes = pc.index_in(names, value_set=pc.unique(names)).to_numpy()
        dup = np.ones(n, dtype=bool)
        dup[np.unique(codes, return_index=True)[1]] = False  # first row of each name stays
        if not dup.any():
            return names
        extra = take([str(i) for i in range(10_000)], rng.integers(1, 10_000, n))
        names = pc.if_else(pa.array(dup), pc.binary_join_element_wise(names, extra, ""), names)
    raise RuntimeError("could not make usernames unique")


def _address(rng: np.random.Generator, pools: Pools, n: int) -> pa.Array:
    """`549 William Turn, East Matthewtown, QLD, 2633`, sometimes `98/237 ...` or `Level 4 4 ...`."""
    prefixes = [""] + [f"{u}/" for u in range(1, 200)] + [f"Level {lv} " for lv in range(1, 21)]
    kind = rng.random(n)
    prefix = np.where(
        kind < 0.75, 0, np.where(kind < 0.95, rng.integers(1, 200, n), rng.integers(200, 220, n))
    )
    number = take([str(i) for i in range(1000)], rng.integers(1, 1000, n))
    street = take(pools.streets, rng.integers(0, len(pools.streets), n))
    locality = take(pools.localities, rng.integers(0, len(pools.localities), n))
    head = pc.binary_join_element_wise(take(prefixes, prefix), number, "")
    return pc.binary_join_element_wise(pc.binary_join_element_wise(head, street, " "), locality, ", ")


def build_contacts(
    rng: np.random.Generator, cust: Customers, pools: Pools, rates: DefectRates, stale_ms: int
) -> Contacts:
    """People with names, usernames, emails and addresses, then their contact defects.

    Stale-batch rows are people who already existed at the old load (`stale_ms`).
    """
    n = len(cust.age)
    first = pools.female_first + pools.male_first
    female_n, male_n = len(pools.female_first), len(pools.male_first)
    first_code = np.where(cust.is_female, rng.integers(0, female_n, n), female_n + rng.integers(0, male_n, n))
    last_code = rng.integers(0, len(pools.last), n)
    username = _usernames(
        rng,
        take([username_stem(f) for f in first], first_code),
        take([username_stem(s) for s in pools.last], last_code),
    )
    dom_p = np.array([d[1] for d in EMAIL_DOMAINS])
    domain_code = rng.choice(len(EMAIL_DOMAINS), size=n, p=dom_p / dom_p.sum())
    id_mat = uuid_matrix(rng.integers(0, 256, (n, 16), dtype=np.uint8))
    address = _address(rng, pools, n)

    picker = RowPicker(rng, n)
    k = round(rates.shared_id * n)
    pairs = picker.pick(2 * k).copy()
    rng.shuffle(pairs)
    victims, intruders = pairs[:k], pairs[k:]
    same = (first_code[victims] == first_code[intruders]) & (last_code[victims] == last_code[intruders])
    last_code[intruders[same]] = (last_code[intruders[same]] + 1) % len(pools.last)  # must be another person
    id_owner = np.arange(n)
    id_owner[intruders] = victims
    missing_rows = picker.pick(round(rates.contact_missing_value * n))
    missing = np.full(n, -1, dtype=np.int64)
    missing[missing_rows] = rng.integers(0, len(CONTACT_MISSING_COLUMNS), len(missing_rows))
    stale_rows = picker.pick(round(rates.contact_stale_batch * n), cust.first_ms < stale_ms)
    stale = np.zeros(n, dtype=bool)
    stale[stale_rows] = True
    dup_src = picker.pick(round(rates.duplicate_contact * n))
    # a copy lands somewhere after its original, so the later row is the duplicate
    key = np.concatenate([np.arange(n, dtype=float), dup_src + rng.uniform(0.5, n - dup_src)])
    order = np.argsort(key, kind="stable")
    rows = np.concatenate([np.arange(n), dup_src])[order]
    is_copy = np.concatenate([np.zeros(n, bool), np.ones(len(dup_src), bool)])[order]
    alias_src = picker.pick(round(rates.same_person_new_id * n))
    alias_of_person = np.full(n, -1, dtype=np.int64)
    is_female, birth_day = cust.is_female, cust.birth_day
    if len(alias_src):  # drawn only when asked for, so other rates keep their bytes
        (id_mat, id_owner, first, first_code, last_code, username, domain_code, is_female, birth_day,
         address, stale, missing) = _with_aliases(
            rng, alias_src, pools, id_mat, id_owner, first, first_code, last_code, username,
            domain_code, is_female, birth_day, address, stale, missing,
        )  # fmt: skip
        alias_of_person[alias_src] = n + np.arange(len(alias_src))
        # a second sign-up comes after the first: the alias row lands after its source row
        position = np.empty(len(rows), dtype=float)
        position[:] = np.arange(len(rows))
        first_pos = np.zeros(n, dtype=float)
        first_pos[rows[~is_copy]] = np.flatnonzero(~is_copy)
        at = first_pos[alias_src] + rng.uniform(0.5, len(rows) - first_pos[alias_src])
        order = np.argsort(np.concatenate([position, at]), kind="stable")
        rows = np.concatenate([rows, n + np.arange(len(alias_src))])[order]
        is_copy = np.concatenate([is_copy, np.zeros(len(alias_src), bool)])[order]
    defects = {
        "shared_id": np.sort(pairs),
        "contact_missing_value": missing_rows,
        "contact_stale_batch": stale_rows,
        "duplicate_contact": dup_src,
        "same_person_new_id": n + np.arange(len(alias_src)),
    }
    return Contacts(
        id_mat, id_owner, first, first_code, pools.last, last_code, username, domain_code,
        is_female, birth_day, address, stale, missing, rows, is_copy, defects, alias_of_person,
    )  # fmt: skip


def _with_aliases(
    rng: np.random.Generator, src: np.ndarray, pools: Pools, id_mat: np.ndarray, id_owner: np.ndarray,
    first: list[str], first_code: np.ndarray, last_code: np.ndarray, username: pa.Array,
    domain_code: np.ndarray, is_female: np.ndarray, birth_day: np.ndarray, address: pa.Array,
    stale: np.ndarray, missing: np.ndarray,
) -> tuple:  # fmt: skip
    """Every per-person array extended by one alias per person in `src` (data_gen/generate/aliases.py)."""
    n, k = len(id_mat), len(src)
    draw = draw_aliases(rng, src, [first[c] for c in first_code[src]], birth_day[src])
    names = list(first)
    index = {name: i for i, name in enumerate(names)}
    for name in draw.first:
        if name not in index:
            index[name] = len(names)
            names.append(name)
    alias_first = np.array([index[name] for name in draw.first], dtype=np.int64)
    other_last = (last_code[src] + rng.integers(1, len(pools.last), k)) % len(pools.last)
    alias_last = np.where(draw.new_surname, other_last, last_code[src])
    digits = rng.integers(1, 100, k)
    originals = username.take(pa.array(src)).to_pylist()
    alias_user = [
        alias_username(int(style), orig, username_stem(names[f]), username_stem(pools.last[la]), int(d))
        for style, orig, f, la, d in zip(
            draw.email_style.tolist(), originals, alias_first.tolist(), alias_last.tolist(), digits.tolist(),
            strict=True,
        )
    ]
    dom_p = np.array([d[1] for d in EMAIL_DOMAINS])
    alias_domain = np.where(
        draw.new_domain, rng.choice(len(EMAIL_DOMAINS), size=k, p=dom_p / dom_p.sum()), domain_code[src]
    )
    moved = _address(rng, pools, k)
    alias_address = pc.if_else(pa.array(draw.new_address), moved, address.take(pa.array(src)))
    alias_ids = uuid_matrix(rng.integers(0, 256, (k, 16), dtype=np.uint8))
    return (
        np.concatenate([id_mat, alias_ids]),
        np.concatenate([id_owner, n + np.arange(k)]),
        names,
        np.concatenate([first_code, alias_first]),
        np.concatenate([last_code, alias_last]),
        pa.concat_arrays([username, pa.array(alias_user, type=username.type)]),
        np.concatenate([domain_code, alias_domain]),
        np.concatenate([is_female, is_female[src]]),
        np.concatenate([birth_day, draw.birth_day]),
        pa.concat_arrays([address, alias_address.cast(address.type)]),
        np.concatenate([stale, np.zeros(k, bool)]),
        np.concatenate([missing, np.full(k, -1, dtype=np.int64)]),
    )


def contact_chunk(c: Contacts, rows: np.ndarray, csv: bool, loaded_at: tuple[str, str]) -> list[pa.Array]:
    """Text columns for output rows `rows` (indices of people), in CONTACT_COLUMNS order."""
    miss = c.missing[rows]
    name = pc.binary_join_element_wise(
        take(c.first, c.first_code[rows]), take(c.last, c.last_code[rows]), " "
    )
    username = pc.take(c.username, pa.array(rows))
    domains = take([d[0] for d in EMAIL_DOMAINS], c.domain_code[rows])
    address = pc.take(c.address, pa.array(rows))
    if csv:
        address = pc.binary_join_element_wise('"', address, '"', "")
    newline = "\n" if csv else ""
    return [
        fixed(c.id_mat[c.id_owner[rows]]),
        username,
        name,
        blank(take(["F", "M"], (~c.is_female[rows]).astype(np.int64)), miss == 0, csv),
        blank(address, miss == 2, csv),
        blank(pc.binary_join_element_wise(username, domains, "@"), miss == 3, csv),
        blank(fixed(date_matrix(c.birth_day[rows])), miss == 1, csv),
        take([csv_quote(t) + newline if csv else t for t in loaded_at], c.stale[rows].astype(np.int64)),
    ]
