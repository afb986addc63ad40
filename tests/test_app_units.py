"""Small pure pieces of the app: masking, patterns, paramstyle, filters, URL state, engine choice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_app_helpers import PAGES, infos, open_page, point_app_at

from c360 import config
from c360.app import ui
from c360.app.data import Period, is_partial_month, period_window
from c360.app.metrics import ExplorerState, state_from_params, state_to_params
from c360.app.pii import mask_email, mask_frame, mask_name
from c360.app.search import like_pattern
from c360.app.ui import pct_change
from c360.app.ui import warehouse as current_warehouse
from c360.warehouse import WarehouseError, quote_identifier, to_pg_paramstyle


@pytest.mark.parametrize(
    "name,expected",
    [("Mary Davis", "M. D."), ("adeep", "A."), ("  Zoe  O'Neil ", "Z. O."), (None, "—"), ("", "—")],
)
def test_mask_name_keeps_initials_only(name: str | None, expected: str) -> None:
    assert mask_name(name) == expected


@pytest.mark.parametrize(
    "email,expected",
    [("davismary@hotmail.com", "d***@hotmail.com"), ("no-at-sign", "***"), ("@x.com", "***"), (None, "—")],
)
def test_mask_email(email: str | None, expected: str) -> None:
    assert mask_email(email) == expected


def test_mask_frame_hides_every_pii_column_unless_revealed() -> None:
    frame = pd.DataFrame(
        {
            "full_name": ["Mary Davis"],
            "mail": ["m@x.io"],
            "address": ["1 St, Town, NSW"],
            "birthdate": ["1980-01-01"],
            "state": ["NSW"],
        }
    )
    masked = mask_frame(frame, reveal=False).iloc[0].to_dict()
    assert masked == {
        "full_name": "M. D.",
        "mail": "m***@x.io",
        "address": "***",
        "birthdate": "***",
        "state": "NSW",
    }
    assert mask_frame(frame, reveal=True).equals(frame)


@pytest.mark.parametrize("text", ["50%", "a_b", "x!y", "plain"])
def test_like_pattern_matches_literally(text: str) -> None:
    values = [text, text.replace("%", "X").replace("_", "Y") + "tail", "zz" + text + "zz"]
    with duckdb.connect() as con:
        found = [
            v
            for v in values
            if con.execute("select ? ilike ? escape '!'", [v, like_pattern(text)]).fetchone()[0]
        ]
        prefix = [
            v
            for v in values
            if con.execute("select ? ilike ? escape '!'", [v, like_pattern(text, True)]).fetchone()[0]
        ]
    expected = [v for v in values if text in v]
    assert found == expected and prefix == [v for v in values if v.startswith(text)]


def test_paramstyle_and_identifiers() -> None:
    assert to_pg_paramstyle("select '%' || ? where a in (?, ?)") == "select '%%' || %s where a in (%s, %s)"
    assert quote_identifier("not_null_customers_email") == '"not_null_customers_email"'
    with pytest.raises(ValueError):
        quote_identifier('x"; drop table y; --')


def test_periods_and_deltas() -> None:
    d = dt.date
    assert period_window("Last 30 days", d(2024, 3, 31)) == Period(
        "Last 30 days", d(2024, 3, 2), d(2024, 3, 31), d(2024, 2, 1), d(2024, 3, 1)
    )
    assert pct_change(110.0, 100.0) == "+10.0%"
    assert pct_change(5.0, 0.0) is None and pct_change(None, 3.0) is None


CALENDAR_CASES = """
Month to date   2024-03-31 2024-03-01 2024-02-01 2024-02-29
Month to date   2024-03-10 2024-03-01 2024-02-01 2024-02-10
Month to date   2024-01-05 2024-01-01 2023-12-01 2023-12-05
Quarter to date 2024-05-15 2024-04-01 2024-01-01 2024-02-15
Year to date    2024-02-29 2024-01-01 2023-01-01 2023-02-28
Last full month 2024-06-30 2024-06-01 2024-05-01 2024-05-31
Last full month 2024-03-02 2024-02-01 2024-01-01 2024-01-31
"""  # label, anchor, then start, previous start, previous end: to date = the previous period up to
# the same day (clipped to that month's end); last full month = the anchor's month only on its last day


@pytest.mark.parametrize("case", CALENDAR_CASES.strip().splitlines())
def test_calendar_periods(case: str) -> None:
    *words, anchor, start, previous_start, previous_end = case.split()
    label, anchor = " ".join(words), dt.date.fromisoformat(anchor)
    expected = tuple(dt.date.fromisoformat(d) for d in (start, previous_start, previous_end))
    period = period_window(label, anchor)
    assert (period.start, period.previous_start, period.previous_end) == expected
    month_end = (period.start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    assert period.end == (month_end if label == "Last full month" else anchor)
    assert period.previous_end < period.start
    assert period.covered_by(expected[1]) and not period.covered_by(expected[1] + dt.timedelta(days=1))


def test_partial_month() -> None:
    first = dt.date(2025, 12, 3)
    assert is_partial_month(dt.date(2026, 12, 1), first, dt.date(2026, 12, 2))
    assert not is_partial_month(dt.date(2026, 11, 1), first, dt.date(2026, 12, 2))
    assert not is_partial_month(dt.date(2024, 6, 1), first, dt.date(2024, 6, 30))
    assert is_partial_month(dt.date(2025, 12, 31), first, dt.date(2026, 12, 2))  # data starts mid-month
    assert not is_partial_month(dt.date(2025, 12, 1), dt.date(2025, 12, 1), dt.date(2026, 12, 2))


def test_explorer_state_round_trips_through_the_url() -> None:
    state = ExplorerState(
        metrics=("total_spend", "order_count"),
        group_by=("customer__state",),
        grain="month",
        filter_dim="transaction__category",
        filter_values=("Books", "Sports, Fitness & Outdoors"),
        start=dt.date(2024, 1, 1),
        end=dt.date(2024, 6, 30),
    )
    assert state_from_params(state_to_params(state)) == state
    assert state_from_params({"start": ["garbage"], "filter": ["no-colon"]}) == ExplorerState()


def test_spark_target_is_refused_with_a_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    point_app_at(monkeypatch, {"DBT_TARGET": "spark", "DBT_TARGET_PATH": str(tmp_path)})
    with pytest.raises(WarehouseError, match="DBT_TARGET=duckdb"):
        current_warehouse()
    assert "DuckDB or Postgres" in infos(open_page("views/overview.py"))


def test_a_file_that_is_not_duckdb_gives_guidance(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bogus = tmp_path / "c360.duckdb"
    bogus.write_text("this is not a database\n")
    point_app_at(
        monkeypatch,
        {"DBT_TARGET": "duckdb", "C360_DUCKDB_PATH": str(bogus), "DBT_TARGET_PATH": str(tmp_path)},
    )
    assert f"Cannot open `{bogus}`" in infos(open_page("views/segments.py"))


def test_audience_export_carries_the_salted_partner_key_and_normalised_email_hash() -> None:
    import hashlib

    from c360.app.audiences import export_frame

    members = pd.DataFrame(
        {
            "customer_id": ["a", "b~1"],
            "full_name": ["A", "B"],
            "email": [" Jo@X.com ", None],
            "total_spend": [1.0, 2.0],
        }
    )
    out = export_frame(members, reveal=False, salt="unit_salt_0123456789")
    assert list(out.columns) == ["partner_key", "email_sha256", "total_spend"]
    expected = [hashlib.sha256(f"unit_salt_0123456789{cid}".encode()).hexdigest() for cid in ("a", "b~1")]
    assert list(out["partner_key"]) == expected
    assert hashlib.sha256(b"a").hexdigest() not in set(
        out["partner_key"]
    )  # not the unsalted, reversible hash
    assert list(out["email_sha256"]) == [hashlib.sha256(b"jo@x.com").hexdigest(), ""]


def test_audience_export_without_a_salt_says_what_to_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from c360.app import audiences
    from c360.share import salt as share_salt

    monkeypatch.delenv("C360_SHARE_SALT", raising=False)
    monkeypatch.setattr(share_salt, "default_salt_file", lambda: tmp_path / "no_salt_here")
    csv = audiences.audience_csv(None, audiences.Audience(), reveal=False).decode()  # type: ignore[arg-type]
    assert csv.splitlines()[0] == "error" and "make share" in csv
    assert not (tmp_path / "no_salt_here").exists()  # exporting never creates a salt


def test_timestamps_render_as_minutes_utc() -> None:
    assert ui.utc("2026-12-02T06:27:57.737705Z") == "2026-12-02 06:27 UTC"  # not `...Z UTC`
    assert ui.utc("2026-12-02T07:27:57+01:00") == "2026-12-02 06:27 UTC"
    assert ui.utc(None) == "—"


def test_csv_writes_whole_number_floats_as_integers() -> None:
    frame = pd.DataFrame({"orders": [791.0, None, 3.0], "spend": [10.5, 2.0, None], "k": ["a", "b", "c"]})
    lines = ui.csv_bytes(frame).decode().splitlines()
    assert lines == ["orders,spend,k", "791,10.5,a", ",2.0,b", "3,,c"]


def test_recency_of_a_segment_without_purchases_is_said_in_words() -> None:
    assert ui.recency_text(float("nan")) == "no purchase yet" and ui.recency_text(None) == "no purchase yet"
    assert ui.recency_text(12.4) == "12"


def test_bubble_labels_of_neighbours_alternate_above_and_below() -> None:
    x = [40.0, 5.0, 41.0, 300.0, 6.0]
    positions = ui.label_positions(x)
    by_x = [positions[i] for i in sorted(range(len(x)), key=x.__getitem__)]
    assert all(a != b for a, b in zip(by_x, by_x[1:], strict=False))
    assert set(positions) == {"top center", "bottom center"}


def test_no_pages_folder_beside_the_app() -> None:
    """Streamlit auto-discovers `pages/` beside the main script and lists its files in the sidebar
    of a page opened by URL; the page modules live in `views/`."""
    assert not (config.REPO_ROOT / "pages").exists()
    assert sorted(p.name for p in (config.REPO_ROOT / "views").glob("*.py")) == sorted(
        Path(p).name for p in PAGES
    )
