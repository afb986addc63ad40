"""The contacts snapshot as an SCD type 2 dimension (marts.customer_versions, semantic model
customer_versions): spend by the state (and gender) a customer had at the transaction's time,
on DuckDB and Postgres, against a pandas assignment of each transaction to the snapshot version
valid then. The same for the segments snapshot (marts.customer_segment_versions, semantic model
customer_segment_versions): spend by the RFM segment the builds had computed by then.

On a copy of the session's generated warehouse, a second CRM export moves some customers to
another state (one also changes gender) and drops one contact (erased); the contacts chain, the
snapshot (its second version) and the two customer marts are rebuilt. The snapshot stamps
versions with the wall clock, which is after every generated transaction, so the test then
sets each changed customer's change time to a chosen moment inside the data (the snapshot
table as it would be had that run happened then) and rebuilds marts.customer_versions.

The same second run re-snapshots the segments of marts.customers: without the erased person
the RFM quintiles (ntile, ties by customer_id) shift, so the customers at a quintile boundary get
other scores and some another segment (the erased person is chosen so that >= 2 do, predicted
by a pandas recomputation of the scores). Those new versions get change times inside the data the
same way, and marts.customer_segment_versions is rebuilt.
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
from tests.metrics_expected_states import ntile5
from tests.metrics_warehouses import ENGINES, copy_of, execute, source_warehouse
from tests.rfm_expected import segment

STATES = ["NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT"]
# The address's state and postcode (the rule of c360.address_state, written again in Python).
ADDRESS_STATE = re.compile(r",[ ]*([A-Za-z]{2,3})[ ]*,[ ]*([0-9]{4})[ ]*$")
HISTORY_START = pd.Timestamp("1900-01-01")
STATE = "customer__state_at_time"
GENDER = "customer__gender_at_time"
SEGMENT = "customer__segment_at_time"
SEGMENT_COLUMNS = ["rfm_segment", "recency_score", "frequency_score", "monetary_score", "contact_id"]
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
    segments: pd.DataFrame  # snapshots.customer_segments_snapshot's rows (after the time shift)
    segments_first: pd.DataFrame  # the same after the first run only
    customers_second: pd.DataFrame  # marts.customers after the second run (SEGMENT_COLUMNS)
    resegmented: pd.DataFrame  # customer_id, changed_at: customers with a second segment version


def state_of(address: object) -> object:
    """The state code of an address line, None when it does not parse (c360.address_state in Python)."""
    match = ADDRESS_STATE.search(address) if isinstance(address, str) else None
    code = match.group(1).upper() if match else None
    return code if code in STATES else None


def _shifted_runs(
    snapshot: str, first_seen: pd.Timestamp, first_run: pd.Timestamp, second_run: pd.Timestamp,
    changes: pd.DataFrame,
) -> list[tuple[str, tuple]]:
    """Statements that move a snapshot's first run to `first_seen` and each changed customer's
    second-run version to its own `changed_at` (`changes`: customer_id, changed_at). `snapshot`
    is one of this module's two snapshot names, never input."""
    statements = [(
        f"update {snapshot} set dbt_valid_from = %s, dbt_updated_at = %s where dbt_valid_from = %s",
        (first_seen.to_pydatetime(), first_seen.to_pydatetime(), first_run.to_pydatetime()),
    )]
    for change in changes.itertuples():
        at = change.changed_at.to_pydatetime()
        statements += [
            (
                f"update {snapshot} set dbt_valid_to = %s where customer_id = %s and dbt_valid_to = %s",
                (at, change.customer_id, second_run.to_pydatetime()),
            ),
            (
                f"update {snapshot} set dbt_valid_from = %s, dbt_updated_at = %s"
                " where customer_id = %s and dbt_valid_from = %s",
                (at, at, change.customer_id, second_run.to_pydatetime()),
            ),
        ]
    return statements


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
    # The erased person: the first other candidate whose absence (pandas RFM) moves >= 2 customers
    # to another segment, one with purchases on >= 3 days, so the second build re-segments some.
    scored = as_of_segments(tx)
    for erased in candidates["customer_id"].iloc[MOVED:]:
        changes = segment_changes(scored, as_of_segments(tx, without=erased))
        if (
            changes["rfm_segment_changed"].sum() >= 2
            and changes.index[changes["rfm_segment_changed"]].isin(days[days >= 3].index).any()
        ):
            return moves, erased
    raise AssertionError("no candidate's erasure changes two segments")


def as_of_segments(tx: pd.DataFrame, without: str | None = None) -> pd.DataFrame:
    """marts.customers' RFM scores and segment, recomputed from the transactions (as of the last
    transaction day; quintiles with ties by customer_id), without the customer `without`."""
    as_of = tx["transaction_at"].max().normalize()  # the as-of date: the last transaction day of all
    tx = tx[tx["customer_id"] != without].assign(day=tx["transaction_at"].dt.normalize())
    state = tx.groupby("customer_id").agg(
        spend=("amount", "sum"), last=("day", "max"), orders=("order_id", "nunique")
    )
    state["spend"] = state["spend"].round(6)
    state["recency_days"] = (as_of - state["last"]).dt.days
    state = state.reset_index()
    state["recency_score"] = ntile5(state, ["recency_days", "customer_id"], [False, True])
    state["frequency_score"] = ntile5(state, ["orders", "customer_id"], [True, True])
    state["monetary_score"] = ntile5(state, ["spend", "customer_id"], [True, True])
    scores = ["recency_score", "frequency_score", "monetary_score"]
    state["rfm_segment"] = [segment(*s) for s in state[scores].itertuples(index=False)]
    return state.set_index("customer_id")[["rfm_segment", *scores]]


def segment_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The customers of `after` whose segment or a score differs in `before`, with the new values
    and `rfm_segment_changed`."""
    common = before.loc[after.index, after.columns]
    changed = after[(common != after).any(axis=1)]
    return changed.assign(
        rfm_segment_changed=common.loc[changed.index, "rfm_segment"] != changed["rfm_segment"]
    )


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


def _snapshot(warehouse: Warehouse, table: str = "contacts_snapshot") -> pd.DataFrame:
    columns = "gender, address" if table == "contacts_snapshot" else ", ".join(SEGMENT_COLUMNS[:-1])
    frame = warehouse.query(
        f"select customer_id, contact_id, {columns}, dbt_valid_from, dbt_valid_to"
        f" from snapshots.{table} order by customer_id, dbt_valid_from"
    )
    for column in ("dbt_valid_from", "dbt_valid_to"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
    return frame


def _segment_change_times(resegmented: list[str], tx: pd.DataFrame, first_seen: pd.Timestamp) -> pd.DataFrame:
    """A change time for each customer with a second segment version: a middle day of its
    purchase days (at 00:00 for the first, else 12:30), after the first run; the day after the
    last purchase when it has one purchase day only."""
    rows = []
    for i, customer_id in enumerate(sorted(resegmented)):
        days = sorted(tx.loc[tx["customer_id"] == customer_id, "transaction_at"].dt.floor("D").unique())
        day = pd.Timestamp(days[len(days) // 2] if len(days) >= 2 else days[-1] + pd.Timedelta(days=1))
        day = max(day, first_seen.ceil("D"))
        rows.append((customer_id, day if i == 0 else day + pd.Timedelta(hours=12, minutes=30)))
    return pd.DataFrame(rows, columns=["customer_id", "changed_at"])


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
        segments_first = _snapshot(copy, "customer_segments_snapshot")
        contacts = _second_export(source.raw_dir, moves, gender_changed, erased, directory / "second")
        copy.load(contacts, source.raw_dir / "transactions.csv")
        # The contacts chain, the snapshot's second run and marts.customers (no tests here: the
        # other marts still hold the erased person's rows, which a full build would drop).
        copy.dbt(
            ["build", "--select", "+contacts_snapshot", "customers", "customer_segments_snapshot"]
            + ["--resource-type", "model", "--resource-type", "snapshot"]
        )
        second = _snapshot(copy)
        segments_second = _snapshot(copy, "customer_segments_snapshot")
        customers_second = copy.query(
            f"select customer_id, {', '.join(SEGMENT_COLUMNS)} from marts.customers order by customer_id"
        )
        counts = segments_second.groupby("customer_id").size()
        resegmented = _segment_change_times(list(counts[counts == 2].index), transactions, first_seen)
        assert counts.max() == 2 and len(resegmented) > 0
        segment_first_run = segments_first["dbt_valid_from"].max()
        assert segments_first["dbt_valid_from"].nunique() == 1
        first_run, second_run = first["dbt_valid_from"].max(), second["dbt_valid_from"].max()
        assert first["dbt_valid_from"].nunique() == 1 and second_run > first_run
        # The first run as if it had happened a week into the data (the time before it is covered
        # by the 1900 assumption), each move at its own time after it.
        assert (moves["changed_at"] > first_seen).all()
        statements = _shifted_runs("snapshots.contacts_snapshot", first_seen, first_run, second_run, moves)
        # The segments snapshot: its first run at the same moment, each re-segmentation at its time.
        segment_second_run = segments_second["dbt_valid_from"].max()
        statements += _shifted_runs(
            "snapshots.customer_segments_snapshot", first_seen, segment_first_run, segment_second_run,
            resegmented,
        )
        execute(copy, statements)
        # With their tests (no overlapping windows).
        copy.dbt(["build", "--select", "customer_versions", "customer_segment_versions"])
        yield Changed(
            copy,
            client_for(copy),
            read_marts(copy).transactions,
            _snapshot(copy),
            moves,
            gender_changed,
            erased,
            first_seen,
            _snapshot(copy, "customer_segments_snapshot"),
            segments_first,
            customers_second,
            resegmented,
        )


def assign_to(transactions: pd.DataFrame, snapshot: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Each transaction with `columns` of its customer's snapshot version valid at the start of
    the transaction's UTC day (the first version from 1900-01-01); NaN without one."""
    versions = snapshot.sort_values(["customer_id", "dbt_valid_from"]).copy()
    first = versions.groupby("customer_id").cumcount() == 0
    versions["valid_from"] = versions["dbt_valid_from"].where(~first, HISTORY_START)
    tx = transactions.assign(day=transactions["transaction_at"].dt.floor("D"))
    joined = tx.merge(versions[["customer_id", "valid_from", "dbt_valid_to", *columns]], on="customer_id")
    valid = (joined["valid_from"] <= joined["day"]) & (
        joined["dbt_valid_to"].isna() | (joined["day"] < joined["dbt_valid_to"])
    )
    matched = joined[valid]
    assert matched["transaction_id"].is_unique, "a transaction matched two versions"
    out = tx.merge(matched[["transaction_id", *columns]], on="transaction_id", how="left")
    assert len(out) == len(tx)
    return out


def assign_versions(transactions: pd.DataFrame, snapshot: pd.DataFrame) -> pd.DataFrame:
    """Each transaction with the state and gender of its customer's contacts-snapshot version
    valid at the start of the transaction's UTC day (see assign_to)."""
    return assign_to(
        transactions, snapshot.assign(state=snapshot["address"].map(state_of)), ["state", "gender"]
    )


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


def test_second_run_versions_each_changed_segment_and_drops_the_erased(changed: Changed) -> None:
    # Independently: the customers whose segment, a score or key record differs between the
    # first run's snapshot and marts.customers after the second run are the ones with two versions.
    first = changed.segments_first.set_index("customer_id")[SEGMENT_COLUMNS]
    second = changed.customers_second.set_index("customer_id")[SEGMENT_COLUMNS]
    assert changed.erased in first.index and changed.erased not in second.index
    common = first.loc[second.index]
    differs = ~((common == second) | (common.isna() & second.isna())).all(axis=1)
    assert set(second.index[differs]) == set(changed.resegmented["customer_id"])
    # And they are the customers pandas expects to change once the erased person is not scored.
    everyone = as_of_segments(changed.transactions)
    columns = ["rfm_segment", "recency_score", "frequency_score", "monetary_score"]
    purchasers = first.loc[everyone.index, columns].astype({c: "int64" for c in columns[1:]})
    pd.testing.assert_frame_equal(purchasers, everyone[columns], check_names=False)
    expected = segment_changes(everyone, as_of_segments(changed.transactions, without=changed.erased))
    assert set(expected.index) == set(changed.resegmented["customer_id"])
    pd.testing.assert_frame_equal(
        second.loc[sorted(expected.index), columns].astype({c: "int64" for c in columns[1:]}),
        expected.loc[sorted(expected.index), columns].astype({c: "int64" for c in columns[1:]}),
        check_names=False,
    )
    assert expected["rfm_segment_changed"].sum() >= 2
    versions = changed.warehouse.query(
        "select customer_id, version_number, rfm_segment, recency_score, valid_from, valid_to, is_current"
        " from marts.customer_segment_versions order by customer_id, version_number"
    )
    for column in ("valid_from", "valid_to"):
        versions[column] = pd.to_datetime(versions[column]).astype("datetime64[us]")
    for change in changed.resegmented.itertuples():
        mine = versions[versions["customer_id"] == change.customer_id].reset_index(drop=True)
        assert mine["rfm_segment"].tolist() == [
            first.loc[change.customer_id, "rfm_segment"],
            second.loc[change.customer_id, "rfm_segment"],
        ]
        assert mine["valid_from"].tolist() == [HISTORY_START, change.changed_at]
        assert mine["valid_to"].iloc[0] == change.changed_at and pd.isna(mine["valid_to"].iloc[1])
        assert mine["is_current"].tolist() == [False, True]
    # Everyone else: one version since 1900 with the segment both builds computed (prospects too).
    others = versions[~versions["customer_id"].isin(changed.resegmented["customer_id"])]
    assert others["customer_id"].is_unique and (others["valid_from"] == HISTORY_START).all()
    assert set(others["customer_id"]) == set(second.index[~differs])
    current = versions[versions["is_current"]].set_index("customer_id")["rfm_segment"]
    assert current.sort_index().equals(second["rfm_segment"].sort_index())
    assert (current == "Prospect").any()
    # The erased person: no version in the snapshot (by customer or contact id) nor the mart.
    assert changed.erased not in set(changed.segments["contact_id"]) | set(changed.segments["customer_id"])
    assert len(versions) == len(changed.segments)


def test_spend_by_segment_at_the_time(changed: Changed) -> None:
    assigned = assign_to(changed.transactions, changed.segments, ["rfm_segment"])
    got = changed.client.query(["total_spend"], group_by=[SEGMENT])
    assert_frames_match(got, _spend(assigned, {"rfm_segment": SEGMENT}), [SEGMENT])
    # A re-segmented customer's spend before the change stays with the old segment.
    first = changed.segments_first.set_index("customer_id")["rfm_segment"]
    second = changed.customers_second.set_index("customer_id")["rfm_segment"]
    split = 0
    for change in changed.resegmented.itertuples():
        mine = assigned[assigned["customer_id"] == change.customer_id]
        before = mine["day"] < change.changed_at.ceil("D")
        assert before.any()
        assert (mine.loc[before, "rfm_segment"] == first[change.customer_id]).all()
        assert (mine.loc[~before, "rfm_segment"] == second[change.customer_id]).all()
        split += int((~before).any() and first[change.customer_id] != second[change.customer_id])
    assert split >= 1, "no customer has spend under two segments"
    # By month, with the state at the time too (two SCD joins in one query) and a where.
    assigned = assigned.merge(
        assign_versions(changed.transactions, changed.versions)[["transaction_id", "state"]],
        on="transaction_id",
    )
    assigned["metric_time__month"] = truncate(assigned["transaction_at"], "month")
    keys = {"metric_time__month": "metric_time__month", "rfm_segment": SEGMENT, "state": STATE}
    got = changed.client.query(["total_spend"], group_by=[SEGMENT, STATE], time_grain="month")
    assert_frames_match(got, _spend(assigned, keys), list(keys.values()))
    segment = second[changed.resegmented["customer_id"].iloc[0]]
    where = changed.client.query(["total_spend"], group_by=[SEGMENT], where={SEGMENT: [segment]})
    assert_frames_match(
        where, _spend(assigned[assigned["rfm_segment"] == segment], {"rfm_segment": SEGMENT}), [SEGMENT]
    )
