"""The contacts snapshot as an SCD type 2 dimension (marts.customer_versions, semantic model
customer_versions): spend by the state (and gender) a customer had at the transaction's time,
on DuckDB and Postgres, against a pandas assignment of each transaction to the snapshot version
valid then.

On a copy of the session's generated warehouse, a second CRM export moves some customers to
another state (one also changes gender) and drops one contact (erased); the contacts chain, the
snapshot (its second version) and the two customer marts are rebuilt. The snapshot stamps
versions with the wall clock, which is after every generated transaction, so the test then
sets each changed customer's change time to a chosen moment inside the data (the snapshot
table as it would be had that run happened then) and rebuilds marts.customer_versions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from c360.metrics.client import MetricsClient
from tests.conftest import Warehouse
from tests.metrics_expected import assert_frames_match, client_for, read_marts, truncate
from tests.metrics_warehouses import ENGINES, copy_of, execute, source_warehouse

STATES = ["NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT"]
# The address's state and postcode (the rule of c360.address_state, written again in Python).
ADDRESS_STATE = re.compile(r",[ ]*([A-Za-z]{2,3})[ ]*,[ ]*([0-9]{4})[ ]*$")
HISTORY_START = pd.Timestamp("1900-01-01")
STATE = "customer__state_at_time"
GENDER = "customer__gender_at_time"
MOVED = 6  # customers who move to another state


@dataclass
class Changed:
    """The rebuilt copy and what the test changed in it."""

    warehouse: Warehouse
    client: MetricsClient
    transactions: pd.DataFrame
    versions: pd.DataFrame  # snapshots.contacts_snapshot's rows (customer_id, gender, address, valid from/to)
    moves: pd.DataFrame  # customer_id, old_state, new_state, changed_at
    gender_changed: str
    erased: str
    first_seen: pd.Timestamp  # when the first snapshot run is taken to have happened


def state_of(address: object) -> object:
    """The state code of an address line, None when it does not parse (c360.address_state in Python)."""
    match = ADDRESS_STATE.search(address) if isinstance(address, str) else None
    code = match.group(1).upper() if match else None
    return code if code in STATES else None


def _pick(source: Warehouse, tx: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """MOVED single-contact customers with a state and transactions on >= 3 days, each with a
    change time on a middle day of its history, and one more such customer to erase."""
    contacts = source.query(
        "select customer_id, contact_id, address from intermediate.int_contacts_resolved"
        " where customer_id = contact_id and source_record_count = 1 order by customer_id"
    )
    contacts["state"] = contacts["address"].map(state_of)
    days = tx.assign(day=tx["transaction_at"].dt.floor("D")).groupby("customer_id")["day"].nunique()
    candidates = contacts[contacts["state"].notna() & contacts["customer_id"].isin(days[days >= 3].index)]
    chosen = candidates.iloc[:MOVED].reset_index(drop=True)
    assert len(chosen) == MOVED and len(candidates) > MOVED
    rows = []
    for i, row in chosen.iterrows():
        times = tx.loc[tx["customer_id"] == row["customer_id"], "transaction_at"]
        customer_days = sorted(times.dt.floor("D").unique())
        middle_day = customer_days[len(customer_days) // 2]  # a day with purchases before and after
        first_that_day = times[times.dt.floor("D") == middle_day].min()
        if i == 0:
            # A change during the day of a transaction, a second before it: MetricFlow joins the
            # version valid at the start of the transaction's UTC day, so it keeps the old state.
            changed_at = first_that_day - pd.Timedelta(seconds=1)
            assert changed_at.floor("D") == middle_day, "the transaction is at midnight"
        elif i == 1:
            changed_at = middle_day  # at midnight: that day's transactions get the new state
        else:
            changed_at = middle_day + pd.Timedelta(hours=12, minutes=30)
        new_state = STATES[(STATES.index(row["state"]) + 1 + i) % len(STATES)]
        rows.append((row["customer_id"], row["state"], new_state, pd.Timestamp(changed_at)))
    moves = pd.DataFrame(rows, columns=["customer_id", "old_state", "new_state", "changed_at"])
    erased = candidates.iloc[MOVED]["customer_id"]
    return moves, erased


def _second_export(raw_dir: Path, moves: pd.DataFrame, gender_changed: str, erased: str, out: Path) -> Path:
    """The raw contacts file with the moves' addresses, one gender changed and `erased` dropped."""
    raw = pd.read_csv(raw_dir / "contacts.csv", dtype=str, keep_default_na=False)
    for move in moves.itertuples():
        at = raw["id"] == move.customer_id
        assert at.sum() == 1
        address = raw.loc[at, "address"].iloc[0]
        raw.loc[at, "address"] = ADDRESS_STATE.sub(
            lambda m, new=move.new_state: f", {new}, {m.group(2)}", address
        )
        assert state_of(raw.loc[at, "address"].iloc[0]) == move.new_state
    at = raw["id"] == gender_changed
    raw.loc[at, "gender"] = "M" if raw.loc[at, "gender"].iloc[0].strip().upper() == "F" else "F"
    assert (raw["id"] == erased).sum() == 1
    raw = raw[raw["id"] != erased]
    out.mkdir(parents=True, exist_ok=True)
    raw.to_csv(out / "contacts.csv", index=False)
    return out / "contacts.csv"


def _snapshot(warehouse: Warehouse) -> pd.DataFrame:
    frame = warehouse.query(
        "select customer_id, contact_id, gender, address, dbt_valid_from, dbt_valid_to"
        " from snapshots.contacts_snapshot order by customer_id, dbt_valid_from"
    )
    for column in ("dbt_valid_from", "dbt_valid_to"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
    return frame


@pytest.fixture(scope="module", params=ENGINES)
def changed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Changed]:
    """The engine's generated warehouse copied, given a second CRM export (moves, a gender change,
    an erasure), rebuilt, and its snapshot times set inside the data (see the module docstring)."""
    source = source_warehouse(request, request.param)
    assert source.raw_dir is not None
    transactions = read_marts(source).transactions
    moves, erased = _pick(source, transactions)
    first_seen = transactions["transaction_at"].min().floor("D") + pd.Timedelta(days=7, hours=6)
    gender_changed = moves["customer_id"].iloc[2]
    directory = tmp_path_factory.mktemp(f"versions_{request.param}")
    with copy_of(source, directory) as copy:
        first = _snapshot(copy)
        contacts = _second_export(source.raw_dir, moves, gender_changed, erased, directory / "second")
        copy.load(contacts, source.raw_dir / "transactions.csv")
        # The contacts chain, the snapshot's second run and marts.customers (no tests here: the
        # other marts still hold the erased person's rows, which a full build would drop).
        copy.dbt(
            ["build", "--select", "+contacts_snapshot", "customers"]
            + ["--resource-type", "model", "--resource-type", "snapshot"]
        )
        second = _snapshot(copy)
        first_run, second_run = first["dbt_valid_from"].max(), second["dbt_valid_from"].max()
        assert first["dbt_valid_from"].nunique() == 1 and second_run > first_run
        # The first run as if it had happened a week into the data (the time before it is covered
        # by the 1900 assumption), each move at its own time after it.
        assert (moves["changed_at"] > first_seen).all()
        statements = [
            (
                "update snapshots.contacts_snapshot set dbt_valid_from = %s, dbt_updated_at = %s"
                " where dbt_valid_from = %s",
                (first_seen.to_pydatetime(), first_seen.to_pydatetime(), first_run.to_pydatetime()),
            )
        ]
        for move in moves.itertuples():
            at = move.changed_at.to_pydatetime()
            statements += [
                (
                    "update snapshots.contacts_snapshot set dbt_valid_to = %s"
                    " where customer_id = %s and dbt_valid_to = %s",
                    (at, move.customer_id, second_run.to_pydatetime()),
                ),
                (
                    "update snapshots.contacts_snapshot set dbt_valid_from = %s, dbt_updated_at = %s"
                    " where customer_id = %s and dbt_valid_from = %s",
                    (at, at, move.customer_id, second_run.to_pydatetime()),
                ),
            ]
        execute(copy, statements)
        copy.dbt(["build", "--select", "customer_versions"])  # with its tests (no overlapping windows)
        yield Changed(
            copy,
            client_for(copy),
            read_marts(copy).transactions,
            _snapshot(copy),
            moves,
            gender_changed,
            erased,
            first_seen,
        )


def assign_versions(transactions: pd.DataFrame, snapshot: pd.DataFrame) -> pd.DataFrame:
    """Each transaction with the state and gender of its customer's snapshot version valid at the
    start of the transaction's UTC day (the first version from 1900-01-01); NaN without one."""
    versions = snapshot.sort_values(["customer_id", "dbt_valid_from"]).copy()
    first = versions.groupby("customer_id").cumcount() == 0
    versions["valid_from"] = versions["dbt_valid_from"].where(~first, HISTORY_START)
    versions["state"] = versions["address"].map(state_of)
    tx = transactions.assign(day=transactions["transaction_at"].dt.floor("D"))
    joined = tx.merge(
        versions[["customer_id", "valid_from", "dbt_valid_to", "state", "gender"]], on="customer_id"
    )
    valid = (joined["valid_from"] <= joined["day"]) & (
        joined["dbt_valid_to"].isna() | (joined["day"] < joined["dbt_valid_to"])
    )
    matched = joined[valid]
    assert matched["transaction_id"].is_unique, "a transaction matched two versions"
    out = tx.merge(matched[["transaction_id", "state", "gender"]], on="transaction_id", how="left")
    assert len(out) == len(tx)
    return out


def _spend(assigned: pd.DataFrame, keys: dict[str, str]) -> pd.DataFrame:
    grouped = assigned.rename(columns=keys).groupby(list(keys.values()), dropna=False)["amount"].sum()
    return grouped.rename("total_spend").reset_index()


def test_second_snapshot_opened_versions_and_erased_person_left(changed: Changed) -> None:
    versions = changed.warehouse.query(
        "select customer_id, version_number, state, gender, valid_from, valid_to, is_current"
        " from marts.customer_versions order by customer_id, version_number"
    )
    for column in ("valid_from", "valid_to"):
        versions[column] = pd.to_datetime(versions[column]).astype("datetime64[us]")
    for move in changed.moves.itertuples():
        mine = versions[versions["customer_id"] == move.customer_id].reset_index(drop=True)
        assert mine["state"].tolist() == [move.old_state, move.new_state]
        assert mine["valid_from"].tolist() == [HISTORY_START, move.changed_at]
        assert mine["valid_to"].iloc[0] == move.changed_at and pd.isna(mine["valid_to"].iloc[1])
        assert mine["is_current"].tolist() == [False, True]
    genders = versions.loc[versions["customer_id"] == changed.gender_changed, "gender"].tolist()
    assert len(genders) == 2 and genders[0] != genders[1]
    # Everyone else: one version since 1900; the erased person: no version anywhere.
    others = versions[~versions["customer_id"].isin(changed.moves["customer_id"])]
    assert others["customer_id"].is_unique and (others["valid_from"] == HISTORY_START).all()
    first_seen = changed.warehouse.query(
        "select distinct first_seen_at from marts.customer_versions where version_number = 1"
    )
    assert pd.to_datetime(first_seen["first_seen_at"]).tolist() == [changed.first_seen]
    assert changed.erased not in set(versions["customer_id"])
    assert changed.erased not in set(changed.versions["contact_id"])
    assert len(versions) == len(changed.versions)
    assert changed.erased in set(changed.transactions["customer_id"]), "the erased person had spend"


def test_spend_by_state_at_the_time(changed: Changed) -> None:
    assigned = assign_versions(changed.transactions, changed.versions)
    got = changed.client.query(["total_spend"], group_by=[STATE])
    assert_frames_match(got, _spend(assigned, {"state": STATE}), [STATE])
    # The moved customers' spend before the move stays in the old state, after it goes to the new.
    for move in changed.moves.itertuples():
        mine = assigned[assigned["customer_id"] == move.customer_id]
        before = mine["day"] < move.changed_at.ceil("D")
        assert before.any() and (~before).any()
        assert (mine.loc[before, "state"] == move.old_state).all()
        assert (mine.loc[~before, "state"] == move.new_state).all()
    # Before the first snapshot: the first version seen (the assumption), not a null state.
    early = assigned[assigned["day"] < changed.first_seen.floor("D")]
    assert len(early) > 100 and early["state"].notna().mean() > 0.95
    first = changed.moves.iloc[0]  # changed a second before a transaction of the same day
    same_day = assigned[
        (assigned["customer_id"] == first["customer_id"])
        & (assigned["day"] == first["changed_at"].floor("D"))
    ]
    assert len(same_day) >= 1 and (same_day["state"] == first["old_state"]).all()
    # Today's state (customer__state) puts all of a mover's spend in the new state: it differs.
    now = changed.client.query(["total_spend"], group_by=["customer__state"]).set_index("customer__state")
    then = got.set_index(STATE)
    moved_states = set(changed.moves["old_state"]) | set(changed.moves["new_state"])
    assert any(not np.isclose(now.loc[s, "total_spend"], then.loc[s, "total_spend"]) for s in moved_states)


def test_spend_by_month_state_and_gender_at_the_time(changed: Changed) -> None:
    assigned = assign_versions(changed.transactions, changed.versions)
    assigned["metric_time__month"] = truncate(assigned["transaction_at"], "month")
    got = changed.client.query(["total_spend"], group_by=[STATE, GENDER], time_grain="month")
    expected = _spend(
        assigned, {"metric_time__month": "metric_time__month", "state": STATE, "gender": GENDER}
    )
    assert len(expected) > 100
    assert_frames_match(got, expected, ["metric_time__month", STATE, GENDER])
    where = changed.client.query(
        ["total_spend"], group_by=[STATE], where={STATE: ["TAS"]}, time_grain="month"
    )
    tas = assigned[assigned["state"] == "TAS"]
    assert_frames_match(
        where,
        _spend(tas, {"metric_time__month": "metric_time__month", "state": STATE}),
        ["metric_time__month", STATE],
    )
