"""Command line: `python -m data_gen generate ...` and `python -m data_gen load ...`.

The generator is imported only when `generate` runs, so `load` keeps working even if
the generator module is broken or missing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb
import psycopg2

from c360 import config
from data_gen.load.loader import LOAD_TARGETS, LoadError, find_raw_files, load

LOAD_EPILOG = """\
File rules: CSV (UTF-8, comma separated, "-quoted with "" as an escaped quote, quoted values
may span lines, blank lines ignored) or Parquet (detected by content, not by suffix).
Header names are trimmed and matched case-sensitively in any order; every contract column
is required, `_loaded_at_utc` is optional (filled with the load time, UTC, when absent);
unknown or duplicated columns are errors, as are an empty file, a header without data rows,
bytes that are not UTF-8 and rows with the wrong number of fields. Values are kept as text
exactly as written (spaces included); empty fields become NULL.
A failed load changes nothing; a rerun replaces the tables, it never appends.
Exit code: 0 loaded, 1 load error (message names file and row/column), 2 usage error."""


def _default_target() -> str:
    try:
        return config.target()
    except ValueError:
        return "duckdb"


def _add_load_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        choices=(*LOAD_TARGETS, "spark", "spark_cluster"),
        default=_default_target(),
        help="warehouse to load: DuckDB file C360_DUCKDB_PATH, Postgres C360_PG_* or the local "
        "Spark warehouse C360_SPARK_DIR (default: DBT_TARGET, currently %(default)s)",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        help="directory holding contacts.csv|parquet and transactions.csv|parquet "
        "(alternative to --contacts/--transactions)",
    )
    parser.add_argument(
        "--contacts", type=Path, help="contacts file (CSV or Parquet) for salesforce.contacts"
    )
    parser.add_argument(
        "--transactions", type=Path, help="transactions file (CSV or Parquet) for web.transactions"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress lines on stderr (the summary line is still printed)"
    )


def _add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    """Let the generator declare its own options (imported lazily)."""
    from data_gen.generate import generator

    generator.add_arguments(parser)


def build_parser(with_generate_options: bool = False) -> argparse.ArgumentParser:
    """The `python -m data_gen` parser; generator options are added only when asked for."""
    parser = argparse.ArgumentParser(
        prog="python -m data_gen", description="Generate synthetic raw Customer 360 data, or load raw files."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{generate,load}")
    generate = commands.add_parser(
        "generate",
        help="write synthetic contacts and transactions files (see `generate --help`)",
        description="Write synthetic raw contacts and transactions files with deliberate defects.",
    )
    if with_generate_options:
        _add_generate_arguments(generate)
    load_parser = commands.add_parser(
        "load",
        help="load raw files into salesforce.contacts and web.transactions",
        description="Load a contacts file and a transactions file into the raw tables "
        "salesforce.contacts and web.transactions (all values as text, plus "
        "_source_file and _source_row_number), replacing both tables in one transaction.",
        epilog=LOAD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_load_arguments(load_parser)
    return parser


def _run_load(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.dir is not None and (args.contacts or args.transactions):
        parser.error("give either --dir or --contacts/--transactions, not both")
    if args.dir is None and not (args.contacts and args.transactions):
        parser.error("give --dir DIR, or both --contacts FILE and --transactions FILE")
    try:
        contacts, transactions = (
            find_raw_files(args.dir) if args.dir is not None else (args.contacts, args.transactions)
        )
        if not args.quiet:
            print(f"loading {contacts} and {transactions} into {args.target}", file=sys.stderr, flush=True)
        if args.target in ("spark", "spark_cluster"):  # same reader and checks; a JVM starts after they pass
            from data_gen.load import spark as spark_loader

            return spark_loader.main(["--contacts", str(contacts), "--transactions", str(transactions),
                                      "--target", args.target])
        result = load(args.target, contacts, transactions, progress=not args.quiet)
    except LoadError as exc:
        print(f"load failed, nothing changed: {exc}", file=sys.stderr)
        return 1
    except (duckdb.Error, psycopg2.Error, OSError) as exc:  # e.g. DuckDB file locked by another process
        print(f"load failed, nothing changed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(result.summary(), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    wants_generate = bool(argv) and argv[0] == "generate"
    try:
        parser = build_parser(with_generate_options=wants_generate)
    except ImportError as exc:
        print(f"the generator cannot be imported: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.command == "generate":
        from data_gen.generate import generator

        return int(generator.run(args))
    return _run_load(parser, args)
