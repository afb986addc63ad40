"""Faker + numpy generator of the raw Customer 360 files (`python -m data_gen generate`).

Writes `contacts.<fmt>`, `transactions.<fmt>` and `manifest.json` into the output
directory. One `numpy.random.Generator` seeded from `--seed` drives everything (Faker
is seeded from it), so the same seed and `--now` give the same bytes.

Behaviour (see `gen_behaviour`): personas with Dirichlet tastes over seven categories,
planted next-category transitions, acquisition over the window, churn, heavy-tailed
order counts and spend, weekly and seasonal rhythm. Defects (see the table in
`gen_defects`) are injected at configurable rates, one kind per defective row, and
counted exactly in the manifest with the 1-based data row numbers they affect.

`manifest.json` holds: `seed, customers, days, format, now, loaded_at_utc` (the current
batch), `stale_loaded_at_utc` (the old batch), `window_start_utc/window_end_utc`,
`defect_rates`, `files.<contacts|transactions>.rows` (data rows in the file; contacts
also `people`, transactions also `purchases` before duplication and `buyers`),
`personas` (people per latent persona) and `defects.<file>.<kind>` with `rate`, `rows`
and `row_numbers` (1-based data row numbers, header excluded: the loader's
`_source_row_number`). `shared_id` lists both rows of each pair plus `contact_ids`;
duplicates list only the later copy; missing values add `by_column`; orphans `by_edit`;
`same_person_new_id` lists the alias rows plus `pairs` ([original id, alias id], the ground
truth of identity resolution) and `transactions_on_alias` (data rows carrying an alias id).
Files are written as `<name>.partial` and renamed when both are complete, then the
manifest is written, so a failed run leaves the previous output untouched.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data_gen.generate.behaviour import (
    PERSONA_NAMES,
    Customers,
    Transactions,
    simulate_customers,
    simulate_transactions,
)
from data_gen.generate.contacts import CONTACT_COLUMNS, Contacts, build_contacts, contact_chunk
from data_gen.generate.defects import (
    CONTACT_KINDS,
    CONTACT_MISSING_COLUMNS,
    PRESETS,
    TRANSACTION_KINDS,
    TRANSACTION_MISSING_COLUMNS,
    DefectRates,
    resolve_rates,
)
from data_gen.generate.output import TableWriter
from data_gen.generate.pools import build_pools
from data_gen.generate.text import DAY_MS
from data_gen.generate.transactions import (
    TRANSACTION_COLUMNS,
    TransactionTable,
    build_transactions,
    transaction_chunk,
)

FORMATS = ("csv", "parquet")
CHUNK_ROWS = 500_000


def _ts_text(ms: int) -> str:
    """`YYYY-MM-DD HH:MM:SS.mmm` of epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _parse_now(text: str) -> datetime:
    """An ISO timestamp, read as UTC when it has no offset."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--now {text!r} is not an ISO timestamp") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every `generate` option to `parser`."""
    parser.add_argument("--customers", type=_positive_int, required=True, help="number of people to generate")
    parser.add_argument(
        "--seed", type=int, default=42, help="random seed; same seed and --now give the same bytes"
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory (created if missing)")
    parser.add_argument(
        "--days", type=_positive_int, default=365, help="history window in days (default 365)"
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="csv", dest="fmt", help="file format (default csv)"
    )
    parser.add_argument(
        "--defects", choices=tuple(PRESETS), default="default",
        help="defect rate preset (default 'default'); per-kind --rate-* flags override it",
    )  # fmt: skip
    for field in dataclasses.fields(DefectRates):
        parser.add_argument(
            "--rate-" + field.name.replace("_", "-"), type=float, default=None, dest="rate_" + field.name,
            metavar="SHARE", help=f"share of rows with defect {field.name} (default preset: {field.default})",
        )  # fmt: skip
    parser.add_argument(
        "--now", type=_parse_now, default=None,
        help="ISO UTC timestamp the data is generated relative to (default: the current time)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run `generate` from parsed CLI arguments; prints one summary line; returns the exit code."""
    overrides = {f.name: getattr(args, "rate_" + f.name, None) for f in dataclasses.fields(DefectRates)}
    try:
        rates = resolve_rates(args.defects, overrides)
        started = time.perf_counter()
        manifest = generate(
            args.customers, args.seed, args.out, args.days, args.fmt, rates, args.now, not args.quiet
        )
    except (ValueError, OSError) as exc:
        print(f"generate: error: {exc}", file=sys.stderr)
        return 2
    rows = manifest["files"]["contacts"]["rows"] + manifest["files"]["transactions"]["rows"]
    print(
        f"generated {manifest['files']['contacts']['rows']:,} contacts + "
        f"{manifest['files']['transactions']['rows']:,} transactions ({rows:,} rows) "
        f"in {time.perf_counter() - started:.1f} s -> {args.out}"
    )
    return 0


def _row_numbers(rows: np.ndarray, is_copy: np.ndarray, base: np.ndarray, copies: bool) -> list[int]:
    """1-based output rows showing base rows `base`: their copies when `copies`, else the originals."""
    if copies:  # every copy is a duplicate-kind row, and each source is copied once
        return (np.flatnonzero(is_copy) + 1).tolist()
    position = np.zeros(int(rows.max(initial=-1)) + 1, dtype=np.int64)
    original = np.flatnonzero(~is_copy)
    position[rows[original]] = original
    return np.sort(position[base] + 1).tolist()


def _manifest_defects(c: Contacts, t: TransactionTable, rates: DefectRates) -> dict[str, dict[str, dict]]:
    """Per file and kind: rate, row count, 1-based row numbers and a breakdown where useful."""
    out: dict[str, dict[str, dict]] = {"contacts": {}, "transactions": {}}
    for file, kinds, table in (("contacts", CONTACT_KINDS, c), ("transactions", TRANSACTION_KINDS, t)):
        for kind in kinds:
            base = table.defects[kind]
            numbers = _row_numbers(table.rows, table.is_copy, base, kind.startswith("duplicate_"))
            out[file][kind] = {"rate": getattr(rates, kind), "rows": len(numbers), "row_numbers": numbers}
    miss_c = c.missing[c.defects["contact_missing_value"]]
    out["contacts"]["contact_missing_value"]["by_column"] = {
        col: int((miss_c == i).sum()) for i, col in enumerate(CONTACT_MISSING_COLUMNS)
    }
    miss_t = t.missing[t.defects["transaction_missing_value"]]
    out["transactions"]["transaction_missing_value"]["by_column"] = {
        col: int((miss_t == i).sum()) for i, col in enumerate(TRANSACTION_MISSING_COLUMNS)
    }
    shared = c.defects["shared_id"]
    out["contacts"]["shared_id"]["contact_ids"] = sorted(
        {c.id_mat[c.id_owner[p]].tobytes().decode() for p in shared}
    )
    out["transactions"]["orphan_contact_id"]["by_edit"] = t.orphan_ops
    alias_of = c.alias_of_person
    source = np.flatnonzero(alias_of >= 0)
    out["contacts"]["same_person_new_id"]["pairs"] = sorted(
        [c.id_mat[p].tobytes().decode(), c.id_mat[alias_of[p]].tobytes().decode()] for p in source
    )
    moved = t.shown_person != t.tx.customer
    out["contacts"]["same_person_new_id"]["transactions_on_alias"] = int(moved[t.rows].sum())
    return out


@dataclasses.dataclass(frozen=True)
class World:
    """Everything one seed draws, before it is written: people, purchases and output rows."""

    cust: Customers
    tx: Transactions
    contacts: Contacts
    table: TransactionTable
    now_ms: int
    loaded_ms: int
    stale_ms: int
    start_ms: int
    end_ms: int


def simulate(customers: int, seed: int, days: int, rates: DefectRates, now: datetime) -> World:
    """Draw the whole data set from one RNG seeded with `seed` (same arguments, same world).

    `c360.recs.oracle` calls this too, to read the latent tastes behind a generated file.
    """
    now_ms = int(now.astimezone(UTC).timestamp() * 1000)
    rng = np.random.default_rng(seed)
    loaded_ms = now_ms - int(rng.integers(5 * 60_000, 55 * 60_000))  # the batch landed within the hour
    stale_ms = loaded_ms - int(rng.integers(3 * DAY_MS, 10 * DAY_MS))
    end_ms = loaded_ms - 10 * 60_000
    start_ms = end_ms - days * DAY_MS

    pools = build_pools(rng)
    cust = simulate_customers(rng, customers, start_ms, end_ms, now_ms // DAY_MS)
    tx = simulate_transactions(rng, cust, start_ms, days)
    contacts = build_contacts(rng, cust, pools, rates, stale_ms)
    table = build_transactions(rng, tx, contacts, rates, now_ms, stale_ms)
    return World(cust, tx, contacts, table, now_ms, loaded_ms, stale_ms, start_ms, end_ms)


def generate(
    customers: int,
    seed: int,
    out: Path,
    days: int = 365,
    fmt: str = "csv",
    defects: str | DefectRates = "default",
    now: datetime | None = None,
    progress: bool = False,
) -> dict:
    """Generate the raw files into `out` and return the manifest (also written to `out/manifest.json`)."""
    if customers <= 0 or days <= 0:
        raise ValueError(f"customers ({customers}) and days ({days}) must be positive")
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    rates = resolve_rates(defects)
    world = simulate(customers, seed, days, rates, now or datetime.now(UTC))
    cust, tx, contacts, table = world.cust, world.tx, world.contacts, world.table
    now_ms, loaded_ms, stale_ms = world.now_ms, world.loaded_ms, world.stale_ms
    start_ms, end_ms = world.start_ms, world.end_ms

    out.mkdir(parents=True, exist_ok=True)
    loaded = (_ts_text(loaded_ms), _ts_text(stale_ms))
    total = len(contacts.rows) + len(table.rows)
    with tqdm(total=total, unit="row", unit_scale=True, file=sys.stderr, disable=not progress) as bar:
        jobs = (
            (
                "contacts",
                CONTACT_COLUMNS,
                contacts.rows,
                lambda r, csv: contact_chunk(contacts, r, csv, loaded),
            ),
            (
                "transactions",
                TRANSACTION_COLUMNS,
                table.rows,
                lambda r, csv: transaction_chunk(table, contacts, r, csv, loaded),
            ),
        )
        writers: list[TableWriter] = []
        try:
            for name, columns, order, chunk in jobs:
                bar.set_description(name)
                with TableWriter(out / f"{name}.{fmt}", columns, fmt) as writer:
                    for lo in range(0, len(order), CHUNK_ROWS):
                        rows = order[lo : lo + CHUNK_ROWS]
                        writer.write(chunk(rows, writer.is_csv))
                        bar.update(len(rows))
                writers.append(writer)
        except BaseException:
            for done in writers:  # leave the previous run's files as they were
                done.path.unlink(missing_ok=True)
            raise
    # both files are complete: swap them in, then write the manifest that describes them
    (out / "manifest.json").unlink(missing_ok=True)
    for writer in writers:
        writer.publish()

    manifest = {
        "generator": "data_gen.generate.generator",
        "seed": seed,
        "customers": customers,
        "days": days,
        "format": fmt,
        "now": _ts_text(now_ms),
        "loaded_at_utc": loaded[0],
        "stale_loaded_at_utc": loaded[1],
        "window_start_utc": _ts_text(start_ms),
        "window_end_utc": _ts_text(end_ms),
        "defect_rates": dataclasses.asdict(rates),
        "files": {
            "contacts": {"file": f"contacts.{fmt}", "rows": int(len(contacts.rows)), "people": customers},
            "transactions": {
                "file": f"transactions.{fmt}",
                "rows": int(len(table.rows)),
                "purchases": int(len(tx.customer)),
                "buyers": int((cust.order_count > 0).sum()),
            },
        },
        "personas": {name: int((cust.persona == i).sum()) for i, name in enumerate(PERSONA_NAMES)},
        "defects": _manifest_defects(contacts, table, rates),
    }
    partial = out / "manifest.json.partial"
    partial.write_text(json.dumps(manifest, indent=1) + "\n")
    partial.replace(out / "manifest.json")
    return manifest
