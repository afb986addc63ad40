"""The raw loader: values kept byte for byte, structural errors, atomic swap, reruns, Parquet."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from c360 import config
from data_gen.load.loader import LoadError, load
from tests.conftest import new_pg_database

CONTACT_COLUMNS = ["id", "username", "name", "gender", "address", "mail", "birthdate", "_loaded_at_utc"]
TXN_COLUMNS = ["contact_id", "id", "transaction_date", "amount", "item_count", "category", "_loaded_at_utc"]
TABLES = ("salesforce.contacts", "web.transactions")


# ---------- fixtures and helpers ----------


@pytest.fixture(scope="session")
def pg_db() -> Iterator[str]:
    """A fresh Postgres database owned by the dbt role for this session, dropped at the end."""
    with new_pg_database("loader") as settings:
        yield settings.dbname


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs on a fresh DuckDB file and on a fresh schema set in the session's PG database."""
    monkeypatch.setenv("C360_DUCKDB_PATH", str(tmp_path / "c360.duckdb"))
    if request.param == "postgres":
        monkeypatch.setenv("C360_PG_DB", request.getfixturevalue("pg_db"))
        with psycopg2.connect(config.pg_settings().dsn()) as con, con.cursor() as cur:
            cur.execute("drop schema if exists salesforce cascade; drop schema if exists web cascade")
    return request.param


def query(target: str, sql: str) -> list[tuple]:
    """Run a read-only query on the target and return all rows."""
    if target == "duckdb":
        with duckdb.connect(str(config.duckdb_path()), read_only=True) as con:
            return con.execute(sql).fetchall()
    con = psycopg2.connect(config.pg_settings().dsn())
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        con.close()


def table_rows(target: str, table: str, columns: list[str]) -> list[tuple]:
    """All rows of a raw table in file order (file columns, then lineage)."""
    select = ", ".join([*columns, "_source_file", "_source_row_number"])
    return query(target, f"select {select} from {table} order by _source_row_number")


def expected_rows(path: Path, columns: list[str]) -> list[tuple]:
    """The file parsed independently with Python's csv module (empty field -> NULL)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        records = list(csv.DictReader(handle))
    return [
        (*[rec[c] if rec[c] != "" else None for c in columns], path.name, number)
        for number, rec in enumerate(records, start=1)
    ]


def leftovers(target: str) -> list[tuple]:
    """Any `__loading` tables still present."""
    return query(
        target,
        "select table_schema, table_name from information_schema.tables where table_name like '%loading'",
    )


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write a small CSV with the csv module (minimal quoting)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def good_pair(directory: Path, tag: str = "a") -> tuple[Path, Path]:
    """Two small valid files; `tag` makes their values distinguishable between loads."""
    directory.mkdir(parents=True, exist_ok=True)
    contacts = write_csv(
        directory / "contacts.csv",
        CONTACT_COLUMNS,
        [[f"c{i}-{tag}", f"user{i}", f"Name {i}", "F", f"{i} Road, Town, VIC, 3000", f"u{i}@x.com",
          "1990-01-01", "2024-01-01 00:00:00.000"] for i in range(1, 4)],
    )
    transactions = write_csv(
        directory / "transactions.csv",
        TXN_COLUMNS,
        [[f"c{i % 3 + 1}-{tag}", f"t{i}-{tag}", "2024-01-02 10:00:00.000", "9.5", "1", "Books",
          "2024-01-03 00:00:00.000"] for i in range(1, 6)],
    )
    return contacts, transactions


# ---------- the exercise sample ----------


def test_exercise_sample_loads_byte_identical(target: str) -> None:
    sample = config.sample_dir()
    result = load(target, sample / "contacts.csv", sample / "transactions.csv")
    assert (result.contacts_rows, result.transactions_rows) == (11, 102)
    assert table_rows(target, "salesforce.contacts", CONTACT_COLUMNS) == expected_rows(
        sample / "contacts.csv", CONTACT_COLUMNS
    )
    assert table_rows(target, "web.transactions", TXN_COLUMNS) == expected_rows(
        sample / "transactions.csv", TXN_COLUMNS
    )
    assert leftovers(target) == []


def test_rerun_replaces_never_appends(target: str) -> None:
    sample = config.sample_dir()
    load(target, sample / "contacts.csv", sample / "transactions.csv")
    again = load(target, sample / "contacts.csv", sample / "transactions.csv")
    counts = [query(target, f"select count(*) from {t}")[0][0] for t in TABLES]
    assert counts == [11, 102] == [again.contacts_rows, again.transactions_rows]
    dupes = query(target, "select count(*) from (select _source_row_number from web.transactions "
                          "group by 1 having count(*) > 1) as d")
    assert dupes == [(0,)]


# ---------- values are kept as text, exactly ----------


def test_awkward_values_kept_exactly(target: str, tmp_path: Path) -> None:
    header = [" mail", "id ", "username", "name", "gender", "address", "birthdate"]  # reordered, padded
    raw = (
        "\ufeff" + ",".join(f'"{h}"' if i == 0 else h for i, h in enumerate(header)) + "\n"
        '  a@x.com ,c1,"",Ann,F,"1 ""Big"" Rd,\nTown",1990-01-01\n'
        "\n"
        "b@x.com,c2,,Bo Ng  ,,   ,not a date\n"
    )
    contacts = tmp_path / "my_contacts.csv"
    contacts.write_text(raw, encoding="utf-8")
    _, transactions = good_pair(tmp_path / "t")
    result = load(target, contacts, transactions)
    rows = query(target, "select id, mail, username, name, gender, address, birthdate, _source_file, "
                         "_source_row_number, _loaded_at_utc from salesforce.contacts order by 9")
    assert result.contacts_rows == 2
    assert [r[:9] for r in rows] == [
        ("c1", "  a@x.com ", None, "Ann", "F", '1 "Big" Rd,\nTown', "1990-01-01", "my_contacts.csv", 1),
        ("c2", "b@x.com", None, "Bo Ng  ", None, "   ", "not a date", "my_contacts.csv", 2),
    ]
    # no _loaded_at_utc column in the file: both rows get the same load time, as text
    assert rows[0][9] == rows[1][9] and len(rows[0][9]) == len("2024-01-01 00:00:00.000")


def test_parquet_gives_the_same_table_as_csv(target: str, tmp_path: Path) -> None:
    sample = config.sample_dir()
    load(target, sample / "contacts.csv", sample / "transactions.csv")
    from_csv = table_rows(target, "web.transactions", TXN_COLUMNS)
    with (sample / "transactions.csv").open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    columns = {c: [r[c] for r in records] for c in reversed(TXN_COLUMNS)}  # other order on purpose
    parquet = tmp_path / "transactions.parquet"
    pq.write_table(pa.table(columns), parquet, row_group_size=40)
    load(target, sample / "contacts.csv", parquet)
    from_parquet = table_rows(target, "web.transactions", TXN_COLUMNS)
    assert [r[:-2] for r in from_parquet] == [r[:-2] for r in from_csv]
    assert [r[-2:] for r in from_parquet] == [("transactions.parquet", n) for n in range(1, 103)]


# ---------- structural errors: clear message, nothing changed ----------

BAD_TXN = "\n".join(
    [",".join(TXN_COLUMNS), "c1,t1,2024-01-01,1.0,1,Books,x", "c1,t2,2024-01-01,1.0,1,Books,x"]
)

ERROR_CASES = {
    "empty": (b"", [r"bad\.csv", "empty"]),
    "header_only": (",".join(TXN_COLUMNS).encode() + b"\n", [r"bad\.csv", "no data rows"]),
    "missing_column": (BAD_TXN.replace("amount,", "").encode(), [r"bad\.csv", "missing", "'amount'"]),
    "unknown_column": (
        BAD_TXN.replace("category,", "category,colour,").replace("Books,", "Books,red,").encode(),
        [r"bad\.csv", "unknown column 'colour'", "header column 7"],
    ),
    "duplicated_header": (
        BAD_TXN.replace("amount", "id", 1).encode(),
        [r"bad\.csv", "header column 4 'id' is duplicated", "header column 2"],
    ),
    "not_utf8": (BAD_TXN.encode().replace(b"t2", b"t\xff2"), [r"bad\.csv", "line 3", "data row 2", "UTF-8"]),
    "too_many_fields": ((BAD_TXN + ",extra").encode(), [r"bad\.csv", "line 3", "data row 2", "8 fields"]),
    "too_few_fields": (
        (BAD_TXN + '\n"c1","t3\nsplit",2024\n').encode(),
        [r"bad\.csv", "lines 4-5", "data row 3", "3 fields"],
    ),
    "nul_character": (BAD_TXN.replace("t2", "t\x002").encode(), [r"bad\.csv", "column 'id'", "data row 2"]),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_structural_error_names_file_and_place_and_changes_nothing(
    target: str, tmp_path: Path, case: str
) -> None:
    contacts, transactions = good_pair(tmp_path / "good")
    load(target, contacts, transactions)
    before = {t: query(target, f"select * from {t} order by _source_row_number") for t in TABLES}
    content, patterns = ERROR_CASES[case]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    new_contacts, _ = good_pair(tmp_path / "new", tag="b")  # would change contacts if not atomic
    with pytest.raises(LoadError) as info:
        load(target, new_contacts, bad)
    for pattern in patterns:
        assert re.search(pattern, str(info.value)), (pattern, str(info.value))
    after = {t: query(target, f"select * from {t} order by _source_row_number") for t in TABLES}
    assert after == before
    assert leftovers(target) == []


def test_missing_file_names_it(target: str, tmp_path: Path) -> None:
    contacts, _ = good_pair(tmp_path)
    with pytest.raises(LoadError, match=r"nope\.csv: file not found"):
        load(target, contacts, tmp_path / "nope.csv")


def test_first_load_failing_creates_nothing(target: str, tmp_path: Path) -> None:
    contacts, _ = good_pair(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(BAD_TXN.encode() + b",extra")
    with pytest.raises(LoadError):
        load(target, contacts, bad)
    tables = query(target, "select table_name from information_schema.tables "
                           "where table_schema in ('salesforce', 'web')")
    assert tables == []


@pytest.mark.postgres
def test_postgres_reload_keeps_dependent_views(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               pg_db: str) -> None:
    monkeypatch.setenv("C360_PG_DB", pg_db)
    with psycopg2.connect(config.pg_settings().dsn()) as con, con.cursor() as cur:
        cur.execute("drop schema if exists salesforce cascade; drop schema if exists web cascade")
    load("postgres", *good_pair(tmp_path / "a", tag="a"))
    with psycopg2.connect(config.pg_settings().dsn()) as con, con.cursor() as cur:
        cur.execute("create view public.v_contacts as select id from salesforce.contacts")
    load("postgres", *good_pair(tmp_path / "b", tag="b"))
    assert query("postgres", "select id from public.v_contacts order by id") == [
        ("c1-b",), ("c2-b",), ("c3-b",)
    ]
    assert leftovers("postgres") == []


# ---------- Parquet with native types: the same raw rows as the text file ----------

INSTANTS = [  # UTC; each is exact at the unit it is used with (see stamps_for)
    datetime(2024, 1, 2, 10, 0, 0),
    datetime(2023, 12, 31, 23, 59, 59, 999000),
    datetime(1969, 7, 20, 20, 17, 40, 123456),
    None,
]


def stamps_for(unit: str, values: list[datetime | None] = INSTANTS) -> list[datetime | None]:
    """`values` representable at `unit`: whole seconds for s, no sub-millisecond values for ms."""
    exact = {"s": 1_000_000, "ms": 1000}.get(unit, 1)
    return [d.replace(microsecond=0) if d and d.microsecond % exact else d for d in values]


def stamp_text(value: datetime | None) -> str | None:
    """The contract text of a UTC timestamp, computed with plain Python formatting."""
    if value is None:
        return None
    micro = value.microsecond
    fraction = f"{micro // 1000:03d}" if micro % 1000 == 0 else f"{micro:06d}"
    return f"{value:%Y-%m-%d %H:%M:%S}.{fraction}"


def typed_stamps(values: list[datetime | None], unit: str, tz: str | None) -> pd.Series:
    """pandas datetime64 at `unit`, naive UTC or converted to the time zone `tz`."""
    series = pd.Series(pd.to_datetime(values))
    if tz is None:
        return series.astype(f"datetime64[{unit}]")
    return series.dt.tz_localize("UTC").dt.tz_convert(tz).astype(f"datetime64[{unit}, {tz}]")


def write_pair(directory: Path, typed: bool, unit: str, tz: str | None, birth: str) -> tuple[Path, Path]:
    """The same contacts and transactions, typed in Parquet or as text in CSV."""
    directory.mkdir(parents=True, exist_ok=True)
    stamps = stamps_for(unit)
    loaded = stamps_for(unit, [datetime(2024, 5, 9, 10, 5, 28, 875000)])[0]
    births = [date(1990, 1, 31), date(1935, 12, 1), None, date(2001, 2, 28)]
    amounts = [Decimal("66.30"), Decimal("5.00"), None, Decimal("-0.05")]
    counts = [1, 3, None, 12]
    ids = [f"c{i}" for i in range(4)]
    if not typed:
        contacts = write_csv(directory / "contacts.csv", CONTACT_COLUMNS, [
            [ids[i], f"u{i}", "Ann", "F", "1 Rd", "a@x.com", str(births[i] or ""), stamp_text(loaded)]
            for i in range(4)])
        transactions = write_csv(directory / "transactions.csv", TXN_COLUMNS, [
            [ids[i], f"t{i}", stamp_text(stamps[i]) or "", str(amounts[i] or ""), str(counts[i] or ""),
             "Books", stamp_text(loaded)] for i in range(4)])
        return contacts, transactions
    birth_column = pd.Series(pd.to_datetime(births)) if birth == "timestamp" else pd.Series(births)
    contacts_frame = pd.DataFrame({
        "id": ids, "username": [f"u{i}" for i in range(4)], "name": "Ann", "gender": "F",
        "address": "1 Rd", "mail": "a@x.com", "birthdate": birth_column,
        "_loaded_at_utc": typed_stamps([loaded] * 4, unit, tz),
    })
    contacts = directory / "contacts.parquet"
    contacts_frame.to_parquet(contacts, index=False)
    txn_frame = pd.DataFrame({
        "contact_id": ids, "id": [f"t{i}" for i in range(4)],
        "transaction_date": typed_stamps(stamps, unit, tz),
        "amount": pd.Series(amounts, dtype=object),
        # ns: the float64 pandas makes of integers with a NaN; otherwise nullable Int64
        "item_count": pd.Series(counts, dtype="float64" if unit == "ns" else "Int64"),
        "category": "Books", "_loaded_at_utc": typed_stamps([loaded] * 4, unit, tz),
    })
    table = pa.Table.from_pandas(txn_frame, preserve_index=False)
    table = table.set_column(3, "amount", pa.array(amounts, pa.decimal128(10, 2)))
    transactions = directory / "transactions.parquet"
    pq.write_table(table, transactions)
    return contacts, transactions


@pytest.mark.parametrize(("unit", "tz", "birth"), [
    ("ns", None, "timestamp"), ("us", "UTC", "date"), ("ms", "Australia/Sydney", "timestamp"),
    ("s", "America/New_York", "date"),
])
def test_typed_parquet_gives_the_text_files_rows(
    target: str, tmp_path: Path, unit: str, tz: str | None, birth: str
) -> None:
    load(target, *write_pair(tmp_path / "text", False, unit, tz, birth))
    columns = dict(zip(TABLES, (CONTACT_COLUMNS, TXN_COLUMNS), strict=True))
    from_text = {t: [r[:-2] + r[-1:] for r in table_rows(target, t, c)] for t, c in columns.items()}
    load(target, *write_pair(tmp_path / "typed", True, unit, tz, birth))
    from_typed = {t: [r[:-2] + r[-1:] for r in table_rows(target, t, c)] for t, c in columns.items()}
    assert from_typed == from_text
    assert from_text["web.transactions"][0][2:5] == (stamp_text(INSTANTS[0]), "66.30", "1")
    assert from_text["salesforce.contacts"][0][6] == "1990-01-31"
