"""Each engine macro called directly on each adapter (dbt show --inline), against Python expectations.

The expectations come from plain Python (datetime/Decimal and the documented rules), not from
running the macros. One `dbt show` per adapter evaluates every case.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest

from c360 import config
from tests.conftest import Warehouse, duckdb_warehouse, pg_warehouse
from tests.test_customers_recompute import parse_date, parse_decimal, parse_int, parse_ts

TEXTS = [
    "2023-05-09 10:05:28.875", "2023-05-09 10:05:28", " 2023-05-09 10:05:28 ", "2024-02-29 23:59:59.123456",
    "2023-02-30 10:00:00", "2023-13-45 10:21:07.000", "2023-05-09 24:00:00", "2023-05-09T10:05:28",
    "yesterday", "", None, "2023-02-29", "2024-02-29", "0000-01-01", "10/12/1973", " 1973-12-10 ",
    "66.3", " 5 ", "12,50", "$45.00", "1e3", "-23.5", ".5", "+3.", "1O.5", "abc", "1.5", "99999999999", "-1",
]  # fmt: skip
BIRTHDAYS = [  # (birth, as_of)
    ("1990-02-28", "2023-02-28"), ("1990-03-01", "2023-02-28"), ("2000-02-29", "2023-02-28"),
    ("2000-02-29", "2023-03-01"), ("2000-02-29", "2024-02-28"), ("2000-02-29", "2024-02-29"),
    ("1990-12-31", "2023-01-01"), ("1990-01-01", "2023-12-31"), (None, "2023-01-01"),
]  # fmt: skip
WORDS = [
    ("abc", "abd"), ("kitten", "sitting"), ("", "abc"), ("37ebdcd9", "37ebdad9"), (None, "a"), ("ab", "ba"),
]  # fmt: skip


def _lit(value: str | None, sql_type: str) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def _query() -> str:
    rows = []
    for i in range(max(len(TEXTS), len(BIRTHDAYS), len(WORDS))):
        text = TEXTS[i] if i < len(TEXTS) else None
        birth, as_of = BIRTHDAYS[i] if i < len(BIRTHDAYS) else (None, None)
        left, right = WORDS[i] if i < len(WORDS) else (None, None)
        rows.append(
            f"select {i} as case_id, cast({_lit(text, 's')} as {{{{ dbt.type_string() }}}}) as text_in, "
            f"cast({_lit(birth, 'd')} as date) as birth, cast({_lit(as_of, 'd')} as date) as as_of, "
            f"cast({_lit(left, 's')} as {{{{ dbt.type_string() }}}}) as word_a, "
            f"cast({_lit(right, 's')} as {{{{ dbt.type_string() }}}}) as word_b"
        )
    cases = "\nunion all\n".join(rows)
    return f"""
with cases as (
{cases}
)
select
    case_id,
    {{{{ c360.as_timestamp_utc('text_in') }}}} as ts,
    {{{{ c360.safe_to_date('text_in') }}}} as day,
    {{{{ c360.safe_cast_text('text_in', dbt.type_numeric()) }}}} as num,
    {{{{ c360.safe_cast_text('text_in', 'integer') }}}} as int_value,
    {{{{ c360.age_in_years('birth', 'as_of') }}}} as age,
    {{{{ c360.edit_distance('word_a', 'word_b') }}}} as distance
from cases
order by case_id
"""


def _show(warehouse: Warehouse) -> list[dict]:
    result = warehouse.dbt(
        ["show", "--inline", _query(), "--output", "json", "--log-format", "json", "--limit", "1000"]
    )
    for line in result.stdout.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "preview" in event.get("data", {}):
            return json.loads(event["data"]["preview"])
    raise AssertionError(f"no preview in dbt show output:\n{result.stdout[-3000:]}")


def _age(birth: str | None, as_of: str | None) -> int | None:
    if birth is None or as_of is None:
        return None
    b, a = date.fromisoformat(birth), date.fromisoformat(as_of)
    return a.year - b.year - ((a.month, a.day) < (b.month, b.day))


def _levenshtein(a: str | None, b: str | None) -> int | None:
    if a is None or b is None:
        return None
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _check(rows: list[dict]) -> None:
    by_case = {row["case_id"]: row for row in rows}
    for i, text in enumerate(TEXTS):
        row = by_case[i]
        want_ts = parse_ts(text)
        got_ts = None if row["ts"] is None else datetime.fromisoformat(row["ts"])
        assert got_ts == want_ts, f"as_timestamp_utc({text!r})"
        got_day = None if row["day"] is None else date.fromisoformat(row["day"][:10])
        assert got_day == parse_date(text), f"safe_to_date({text!r})"
        want_num = parse_decimal(text)
        got_num = None if row["num"] is None else Decimal(str(row["num"]))
        assert got_num == want_num, f"safe_cast_text({text!r}, numeric)"
        assert row["int_value"] == parse_int(text), f"safe_cast_text({text!r}, integer)"
    for i, (birth, as_of) in enumerate(BIRTHDAYS):
        assert by_case[i]["age"] == _age(birth, as_of), f"age_in_years({birth}, {as_of})"
    for i, (left, right) in enumerate(WORDS):
        assert by_case[i]["distance"] == _levenshtein(left, right), f"edit_distance({left!r}, {right!r})"


def test_macros_on_duckdb(tmp_path: Path) -> None:
    _check(_show(duckdb_warehouse(tmp_path)))


@pytest.mark.postgres
def test_macros_on_postgres(tmp_path: Path, pg_database: config.PgSettings) -> None:
    with psycopg2.connect(pg_database.dsn()) as con, con.cursor() as cur:
        cur.execute("create extension if not exists fuzzystrmatch")  # what the on-run-start hook does
    con.close()
    _check(_show(pg_warehouse(pg_database, tmp_path)))
