"""The transactions table: purchases, their defects and row order (by purchase time)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from data_gen.generate.aliases import alias_purchases
from data_gen.generate.behaviour import CATEGORIES, Transactions
from data_gen.generate.contacts import Contacts
from data_gen.generate.defects import (
    TRANSACTION_MISSING_COLUMNS,
    UNKNOWN_CATEGORIES,
    DefectRates,
    RowPicker,
    amount_defects,
    near_miss,
    unparseable_dates,
)
from data_gen.generate.output import blank, fixed, override, take
from data_gen.generate.text import DAY_MS, csv_quote, tenths_seg, timestamp_matrix, to_arrow, uuid_matrix

TRANSACTION_COLUMNS = (
    "contact_id",
    "id",
    "transaction_date",
    "amount",
    "item_count",
    "category",
    "_loaded_at_utc",
)


@dataclass(frozen=True)
class TransactionTable:
    """Per purchase values plus the output order (`rows[i]` = purchase on data row i + 1)."""

    tx: Transactions
    id_raw: np.ndarray  # (m, 16) random bytes of the transaction uuid
    at_ms: np.ndarray  # shown time (future-date defects moved)
    category: np.ndarray  # index into CATEGORIES + UNKNOWN_CATEGORIES
    stale: np.ndarray
    missing: np.ndarray
    contact_text: tuple[np.ndarray, list[str]]  # (code per purchase or -1, near-miss ids)
    amount_text: tuple[np.ndarray, list[str]]
    date_text: tuple[np.ndarray, list[str]]
    rows: np.ndarray
    is_copy: np.ndarray
    defects: dict[str, np.ndarray]
    orphan_ops: dict[str, int]
    shown_person: np.ndarray  # per purchase: the person whose id the row carries (an alias for some)


def _codes(m: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Code array with `rows` numbered 0.. in order, -1 elsewhere."""
    codes = np.full(m, -1, dtype=np.int64)
    codes[rows] = np.arange(len(rows))
    return codes


def build_transactions(
    rng: np.random.Generator, tx: Transactions, contacts: Contacts, rates: DefectRates,
    now_ms: int, stale_ms: int,
) -> TransactionTable:  # fmt: skip
    """Purchase rows plus their defects; every defective row has exactly one kind."""
    m = len(tx.customer)
    picker = RowPicker(rng, m)
    defects: dict[str, np.ndarray] = {}

    def pick(kind: str, eligible: np.ndarray | None = None) -> np.ndarray:
        defects[kind] = picker.pick(round(getattr(rates, kind) * m), eligible)
        return defects[kind]

    stale_rows = pick("transaction_stale_batch", tx.at_ms < stale_ms - 3_600_000)
    shared_owner = contacts.id_owner[tx.customer] != tx.customer
    orphan_rows = pick("orphan_contact_id", ~shared_owner)
    typos, ops = [], {"substitution": 0, "deletion": 0, "transposition": 0}
    for person in tx.customer[orphan_rows].tolist():
        typo, op = near_miss(rng, contacts.id_mat[person].tobytes().decode())
        typos.append(typo)
        ops[op] += 1
    unknown_rows = pick("unknown_category")
    missing_rows = pick("transaction_missing_value")
    amount_rows = [pick(k) for k in ("non_numeric_amount", "zero_amount", "negative_amount")]
    bad_date_rows = pick("unparseable_date")
    future_rows = pick("future_date")
    dup_src = pick("duplicate_transaction")

    category = tx.category.copy()
    category[unknown_rows] = len(CATEGORIES) + rng.integers(0, len(UNKNOWN_CATEGORIES), len(unknown_rows))
    missing = np.full(m, -1, dtype=np.int64)
    missing[missing_rows] = rng.integers(0, len(TRANSACTION_MISSING_COLUMNS), len(missing_rows))
    stale = np.zeros(m, dtype=bool)
    stale[stale_rows] = True
    at_ms = tx.at_ms.copy()
    at_ms[future_rows] = now_ms + rng.integers(DAY_MS, 180 * DAY_MS, len(future_rows)) // 1000 * 1000
    amount_all = np.concatenate(amount_rows)
    amount_words: list[str] = []
    for kind, rows_k in zip(
        ("non_numeric_amount", "zero_amount", "negative_amount"), amount_rows, strict=True
    ):
        amount_words += amount_defects(rng, kind, tx.amount_tenths[rows_k])
    amount_code = np.full(m, -1, dtype=np.int64)
    amount_code[amount_all] = np.arange(len(amount_all))
    year = int(np.datetime64(int(now_ms), "ms").astype("datetime64[Y]").astype(int) + 1970)
    # extract order: by purchase time; a duplicate copy follows its original
    key = np.concatenate([tx.at_ms, tx.at_ms[dup_src]])
    order = np.argsort(key, kind="stable")
    rows = np.concatenate([np.arange(m), dup_src])[order]
    is_copy = np.concatenate([np.zeros(m, bool), np.ones(len(dup_src), bool)])[order]
    shown_person = tx.customer
    if (contacts.alias_of_person >= 0).any():  # drawn only when there are aliases (same bytes otherwise)
        shown_person = alias_purchases(rng, tx.customer, contacts.alias_of_person)
        shown_person[orphan_rows] = tx.customer[orphan_rows]  # an orphan is a typo of the buyer's own id
    return TransactionTable(
        shown_person=shown_person,
        tx=tx,
        id_raw=rng.integers(0, 256, (m, 16), dtype=np.uint8),
        at_ms=at_ms,
        category=category,
        stale=stale,
        missing=missing,
        contact_text=(_codes(m, orphan_rows), typos),
        amount_text=(amount_code, amount_words),
        date_text=(_codes(m, bad_date_rows), unparseable_dates(rng, year, len(bad_date_rows))),
        rows=rows,
        is_copy=is_copy,
        defects=defects,
        orphan_ops=ops,
    )


def transaction_chunk(
    t: TransactionTable, contacts: Contacts, rows: np.ndarray, csv: bool, loaded_at: tuple[str, str]
) -> list[pa.Array]:
    """Text columns for output rows `rows` (indices of purchases), in TRANSACTION_COLUMNS order."""
    miss = t.missing[rows]
    contact = fixed(contacts.id_mat[contacts.id_owner[t.shown_person[rows]]])
    amount = to_arrow([tenths_seg(t.tx.amount_tenths[rows])])
    categories = [csv_quote(c) if csv else c for c in CATEGORIES + UNKNOWN_CATEGORIES]
    newline = "\n" if csv else ""
    return [
        override(contact, t.contact_text[0][rows], t.contact_text[1], csv),
        fixed(uuid_matrix(t.id_raw[rows])),
        blank(
            override(fixed(timestamp_matrix(t.at_ms[rows])), t.date_text[0][rows], t.date_text[1], csv),
            miss == 2,
            csv,
        ),
        blank(override(amount, t.amount_text[0][rows], t.amount_text[1], csv), miss == 0, csv),
        blank(take([str(i) for i in range(10)], t.tx.item_count[rows]), miss == 3, csv),
        blank(take(categories, t.category[rows]), miss == 1, csv),
        take([csv_quote(x) + newline if csv else x for x in loaded_at], t.stale[rows].astype(np.int64)),
    ]
