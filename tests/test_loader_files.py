"""The loader and files as other tools write them: compression, line endings, sizes, links, leftovers.

Every refusal is checked on DuckDB and Postgres for one clear line (no traceback, no
newline, under 300 characters, naming file and row/column) and for an unchanged warehouse.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import resource
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from c360 import config
from data_gen.load.loader import LoadError, find_raw_files, load
from data_gen.load.spec import MAX_FIELD_BYTES
from tests.conftest import Warehouse, duckdb_warehouse, pg_warehouse
from tests.test_loader import (
    CONTACT_COLUMNS,
    TABLES,
    TXN_COLUMNS,
    good_pair,
    leftovers,
    pg_db,
    query,
    target,
)

GOOD_ROWS = [["c1-a", f"t{i}", "2024-01-02 10:00:00.000", "9.5", "1", "Books", "2024-01-03 00:00:00.000"]
             for i in range(1, 4)]
GB = 1 << 30
SHARED_FIXTURES = (pg_db, target)  # pytest finds the imported fixtures by name in this module


def txn_bytes(rows: list[list[str]] | None = None, end: str = "\n") -> bytes:
    """A transactions CSV (plain, minimal quoting) with line terminator `end`."""
    lines = [",".join(TXN_COLUMNS), *(",".join(r) for r in (rows or GOOD_ROWS))]
    return (end.join(lines) + end).encode()


def snapshot(target: str) -> dict[str, list[tuple]]:
    """Every row of both raw tables."""
    return {t: query(target, f"select * from {t} order by _source_row_number") for t in TABLES}


def assert_one_line(message: str, patterns: list[str]) -> None:
    """One short line, no traceback, and every pattern present."""
    assert "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message and len(message) < 300, message
    for pattern in patterns:
        assert re.search(pattern, message), (pattern, message)


# ---------- refusals: the bad transactions file is written by the case ----------


def _compressed_truncated(path: Path) -> list[str]:
    path.write_bytes(gzip.compress(txn_bytes(GOOD_ROWS * 2000))[:300])
    return [r"transactions\.csv", "gzip", "decompress"]


def _xz(path: Path) -> list[str]:
    path.write_bytes(lzma.compress(txn_bytes()))
    return [r"^transactions\.csv is xz-compressed: decompress it first"]


def _zip(path: Path) -> list[str]:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("transactions.csv", txn_bytes())
    return [r"^transactions\.csv is a zip archive"]


def _field_over_limit(path: Path) -> list[str]:
    rows = [GOOD_ROWS[0], [*GOOD_ROWS[1][:5], "B" * (MAX_FIELD_BYTES + 1), GOOD_ROWS[1][6]]]
    path.write_bytes(txn_bytes(rows))
    return [r"transactions\.csv", "column 'category'", "data row 2", "1 MiB"]


def _field_over_limit_in_bytes(path: Path) -> list[str]:
    rows = [[*GOOD_ROWS[0][:5], "é" * (MAX_FIELD_BYTES // 2 + 1), GOOD_ROWS[0][6]]]  # fewer chars than bytes
    path.write_bytes(txn_bytes(rows))
    return [r"transactions\.csv", "column 'category'", "data row 1", "1,048,578 bytes"]


def _field_over_record_block(path: Path) -> list[str]:
    rows = [GOOD_ROWS[0], GOOD_ROWS[1], [*GOOD_ROWS[2][:4], "9" * (9 << 20), *GOOD_ROWS[2][5:]]]
    path.write_bytes(txn_bytes(rows))
    return [r"transactions\.csv", "data row 3", "column 'item_count'", "9,437,184 bytes", "1 MiB"]


def _data_line_of_1_gb(path: Path) -> list[str]:
    with path.open("wb") as handle:
        handle.write(txn_bytes()[:-1] + b"\n" + b"c9,t9,2024-01-02 10:00:00.000,9.5,1,Books,")
        handle.truncate(GB)  # sparse: no disk used, and no line end for a gigabyte
    return [r"transactions\.csv", "line 5", "data row 4", "column '_loaded_at_utc'"]


def _header_of_1_gb(path: Path) -> list[str]:
    with path.open("wb") as handle:
        handle.write(b"contact_id,id,")
        handle.truncate(GB)
    return [r"transactions\.csv", r"line 1 \(header\)", "64 KiB"]


def _columns_5000(path: Path) -> list[str]:
    path.write_bytes((",".join(f"column_{i}" for i in range(5000)) + "\n" + "x," * 4999 + "x\n").encode())
    return [r"transactions\.csv", "5,000 columns", "200"]


def _unknown_columns_150(path: Path) -> list[str]:
    header = [*TXN_COLUMNS, *(f"extra_{i}_{'z' * 60}" for i in range(143))]
    path.write_bytes((",".join(header) + "\n" + ",".join(["x"] * 150) + "\n").encode())
    return [r"transactions\.csv", "unknown column 'extra_0_z", "header column 8", "and 141 more"]


def _cr_only_too_many_fields(path: Path) -> list[str]:
    path.write_bytes(txn_bytes([GOOD_ROWS[0], [*GOOD_ROWS[1], "extra"]], end="\r"))
    return [r"transactions\.csv", "line 3", "data row 2", "8 fields"]


def _directory(path: Path) -> list[str]:
    path.mkdir()
    return [r"transactions\.csv: is a directory"]


def _symlink(path: Path) -> list[str]:
    secret = path.parent / "secret.txt"
    secret.write_text("SECRET-PII,Ann Lee,ann@x.com\n")
    path.symlink_to(secret)
    return [r"transactions\.csv: is a symbolic link; refusing to follow", r"^(?!.*SECRET)"]


def _fifo(path: Path) -> list[str]:
    os.mkfifo(path)
    return [r"transactions\.csv: is not a regular file"]


def _parquet_nanoseconds(path: Path) -> list[str]:
    stamps = pa.array([1_700_000_000_000_000_000, 1_700_000_000_000_000_001], pa.timestamp("ns"))
    table = pa.table({c: pa.array(["x", "y"]) for c in TXN_COLUMNS}).set_column(
        2, "transaction_date", stamps
    )
    pq.write_table(table, path)
    return [r"transactions\.csv", "column 'transaction_date'", "data row 2", "nanoseconds"]


def _parquet_field_over_limit(path: Path) -> list[str]:
    table = pa.table({c: pa.array(["x", "y" * (MAX_FIELD_BYTES + 1)]) for c in TXN_COLUMNS})
    pq.write_table(table, path)
    return [r"transactions\.csv", "column 'contact_id'", "data row 2", "1 MiB"]


def _parquet_columns_250(path: Path) -> list[str]:
    pq.write_table(pa.table({f"c{i}": ["x"] for i in range(250)}), path)
    return [r"transactions\.csv", "header has 250 columns", "200"]


def _gzipped_parquet(path: Path) -> list[str]:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({c: ["x"] for c in TXN_COLUMNS}), sink)
    path.write_bytes(gzip.compress(sink.getvalue().to_pybytes()))
    return [r"^transactions\.csv is a gzip-compressed Parquet file"]


REFUSALS: dict[str, Callable[[Path], list[str]]] = {
    "parquet_columns_250": _parquet_columns_250,
    "gzipped_parquet": _gzipped_parquet,
    "gzip_truncated": _compressed_truncated,
    "xz": _xz,
    "zip": _zip,
    "field_over_limit": _field_over_limit,
    "field_over_limit_in_bytes": _field_over_limit_in_bytes,
    "field_over_record_block": _field_over_record_block,
    "data_line_of_1_gb": _data_line_of_1_gb,
    "header_of_1_gb": _header_of_1_gb,
    "columns_5000": _columns_5000,
    "unknown_columns_150": _unknown_columns_150,
    "cr_only_too_many_fields": _cr_only_too_many_fields,
    "directory": _directory,
    "symlink": _symlink,
    "fifo": _fifo,
    "parquet_nanoseconds": _parquet_nanoseconds,
    "parquet_field_over_limit": _parquet_field_over_limit,
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusal_is_one_clear_line_and_changes_nothing(target: str, tmp_path: Path, case: str) -> None:
    load(target, *good_pair(tmp_path / "good"))
    before = snapshot(target)
    new_contacts, _ = good_pair(tmp_path / "new", tag="b")  # would change contacts if not atomic
    bad = tmp_path / "bad" / "transactions.csv"
    bad.parent.mkdir()
    patterns = REFUSALS[case](bad)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with pytest.raises(LoadError) as info:
        load(target, new_contacts, bad)
    assert_one_line(str(info.value), patterns)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 400 << 10  # < 400 MiB more
    assert snapshot(target) == before
    assert leftovers(target) == []


def test_dir_with_a_symlinked_file_is_refused_by_name(tmp_path: Path) -> None:
    contacts, transactions = good_pair(tmp_path / "real")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "contacts.csv").symlink_to(contacts)
    (raw / "transactions.csv").write_bytes(transactions.read_bytes())
    found = find_raw_files(raw)
    with pytest.raises(LoadError) as info:
        load("duckdb", *found)
    assert_one_line(str(info.value), [r"contacts\.csv: is a symbolic link; refusing to follow"])


# ---------- accepted: the same rows as the plain LF file ----------

def _zstd_frame(data: bytes) -> bytes:
    """A zstd file (frame) of `data`, written by Arrow's compressed output stream."""
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as stream:
        stream.write(data)
    return sink.getvalue().to_pybytes()


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress, "bz2": bz2.compress, "zstd": _zstd_frame,
}


def raw_rows(target: str) -> list[tuple]:
    """web.transactions without `_source_file`, in file order."""
    return query(target, f"select {', '.join(TXN_COLUMNS)}, _source_row_number "
                         "from web.transactions order by _source_row_number")


@pytest.mark.parametrize("variant", ["gzip", "bz2", "zstd", "crlf", "cr_only", "field_at_limit"])
def test_file_variant_loads_the_same_rows_as_plain_lf(target: str, tmp_path: Path, variant: str) -> None:
    contacts, _ = good_pair(tmp_path / "good")
    rows = [[*GOOD_ROWS[0][:5], "A" * MAX_FIELD_BYTES, GOOD_ROWS[0][6]], *GOOD_ROWS[1:]] if (
        variant == "field_at_limit") else GOOD_ROWS * 500
    plain = tmp_path / "plain" / "transactions.csv"
    plain.parent.mkdir()
    plain.write_bytes(txn_bytes(rows))
    load(target, contacts, plain)
    expected = raw_rows(target)
    other = tmp_path / "other" / "transactions.csv"  # the extension says nothing of compression
    other.parent.mkdir()
    if variant in COMPRESSORS:
        other.write_bytes(COMPRESSORS[variant](txn_bytes(rows)))
    else:
        other.write_bytes(txn_bytes(rows, end={"crlf": "\r\n", "cr_only": "\r"}.get(variant, "\n")))
    load(target, contacts, other)
    assert raw_rows(target) == expected
    assert len(expected) == len(rows)
    if variant == "field_at_limit":
        assert query(target, "select length(category) from web.transactions "
                             "where _source_row_number = 1") == [(MAX_FIELD_BYTES,)]


def test_cr_only_file_keeps_a_quoted_line_break(target: str, tmp_path: Path) -> None:
    contacts, _ = good_pair(tmp_path / "good")
    bad = tmp_path / "transactions.csv"
    rows = [GOOD_ROWS[0], [*GOOD_ROWS[1][:5], '"Books\rand more"', GOOD_ROWS[1][6]]]
    bad.write_bytes(txn_bytes(rows, end="\r"))
    load(target, contacts, bad)
    assert query(target, "select category from web.transactions order by _source_row_number") == [
        ("Books",), ("Books\rand more",)
    ]


# ---------- leftovers of a stopped load ----------


@pytest.mark.parametrize("next_load_ok", [True, False])
def test_stale_loading_tables_are_dropped_by_the_next_load(
    target: str, tmp_path: Path, next_load_ok: bool
) -> None:
    load(target, *good_pair(tmp_path / "good"))
    before = snapshot(target)
    stale = ["create table salesforce.contacts__loading as select * from salesforce.contacts",
             "create table web.transactions__loading as select * from web.transactions",
             "create view web.old__loading as select 1 as x"]
    if target == "duckdb":
        with duckdb.connect(str(config.duckdb_path())) as con:
            for statement in stale:
                con.execute(statement)
    else:
        with psycopg2.connect(config.pg_settings().dsn()) as con, con.cursor() as cur:
            for statement in stale:
                cur.execute(statement)
        con.close()
    assert len(leftovers(target)) == 3
    contacts, transactions = good_pair(tmp_path / "again")
    if not next_load_ok:
        transactions = tmp_path / "empty.csv"
        transactions.write_bytes(b"")
        with pytest.raises(LoadError):
            load(target, contacts, transactions)
        assert snapshot(target) == before
    else:
        load(target, contacts, transactions)
    assert leftovers(target) == []


# ---------- typed Parquet as pandas writes it, through dbt ----------


def typed_like_pandas(raw_dir: Path, out: Path) -> tuple[Path, Path]:
    """The generated CSVs re-typed as a pandas user would (datetime64[ns], ints, decimals)."""
    out.mkdir()
    contacts = pd.read_csv(raw_dir / "contacts.csv", dtype=str, keep_default_na=False)
    contacts["birthdate"] = pd.to_datetime(contacts["birthdate"], format="%Y-%m-%d").astype("datetime64[ns]")
    contacts["_loaded_at_utc"] = pd.to_datetime(contacts["_loaded_at_utc"]).dt.tz_localize("UTC")
    contacts.to_parquet(out / "contacts.parquet", index=False)
    txns = pd.read_csv(raw_dir / "transactions.csv", dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(txns["transaction_date"], format="%Y-%m-%d %H:%M:%S.%f")
    txns["transaction_date"] = stamps.astype("datetime64[ns]")  # as the issue saw it: 9 digits
    loaded = pd.to_datetime(txns["_loaded_at_utc"]).dt.tz_localize("UTC")
    txns["_loaded_at_utc"] = loaded.dt.tz_convert("Australia/Sydney")
    txns["item_count"] = txns["item_count"].astype("int64")
    amounts = pa.array([Decimal(a) for a in txns.pop("amount")], pa.decimal128(12, 1))
    table = pa.Table.from_pandas(txns, preserve_index=False).append_column("amount", amounts)
    pq.write_table(table, out / "transactions.parquet")
    return out / "contacts.parquet", out / "transactions.parquet"


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_pandas_typed_parquet_builds_with_nothing_quarantined_as_invalid(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from data_gen.generate.generator import generate

    raw = tmp_path / "raw"
    generate(customers=400, seed=3, out=raw, days=120, fmt="csv", defects="none")
    warehouse = duckdb_warehouse(tmp_path) if engine == "duckdb" else pg_warehouse(
        request.getfixturevalue("fresh_pg_database"), tmp_path)
    warehouse.load(raw / "contacts.csv", raw / "transactions.csv")
    from_csv = {t: _raw_frame(warehouse, t) for t in TABLES}
    warehouse.load(*typed_like_pandas(raw, tmp_path / "typed"))
    for table in TABLES:
        pd.testing.assert_frame_equal(_raw_frame(warehouse, table), from_csv[table])
    warehouse.dbt(["build"])
    reasons = pd.concat([warehouse.query(f"select reason from quality.quarantined_{name}")
                         for name in ("contacts", "transactions")])
    assert not reasons["reason"].str.startswith("invalid_").any(), reasons["reason"].value_counts()
    valid = warehouse.query("select count(*) as n from marts.transactions")["n"].iloc[0]
    quarantined = warehouse.query("select count(*) as n from quality.quarantined_transactions")["n"].iloc[0]
    assert valid + quarantined == len(from_csv["web.transactions"]) > 0


def _raw_frame(warehouse: Warehouse, table: str) -> pd.DataFrame:
    """A raw table without `_source_file`, in file order."""
    columns = [*(CONTACT_COLUMNS if table == TABLES[0] else TXN_COLUMNS), "_source_row_number"]
    return warehouse.query(f"select {', '.join(columns)} from {table} order by _source_row_number")
