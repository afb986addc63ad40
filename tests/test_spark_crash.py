"""A Spark job killed with SIGKILL during the Parquet rewrite never loses or halves a table.

The incremental `marts.transactions` merge and the snapshots on plain Parquet are rewritten by
macros/spark/spark_swap_in_rewrite.sql: a new version table is written aside, then one
`alter table ... set location` switches the table to it. Here the incremental run (with its
upstream models) is killed (dbt and its JVM, the whole process group) at two moments: while
the new version is being written (the table must hold exactly its old rows), and after the
switch, before the clean-up (exactly the new rows, as a complete run leaves them). Each time
the table is read by a new JVM, and the next run must succeed and clear what the killed one
left without touching the table's files. The second load is a reload, as a new CRM/web
extract would be: it adds the held-back transactions, drops some published ones and changes
the amount of others, and one contact is missing from its CRM export (right to erasure). So the
complete run takes the Spark paths of the reconciling pre-hook
(macros/incremental/delete_rows_missing_from.sql), of the merge and, in the contacts snapshot,
of the erasure post-hook (macros/erasure/delete_erased_snapshot_versions.sql), which rewrites the
snapshot without the erased person's versions.
Run with `make test-spark`.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from c360 import config
from c360.dbt_runner import dbt_executable, run_dbt
from tests.test_spark import _require_spark

pytestmark = pytest.mark.spark

CUSTOMERS = 300
SEED = 5
NOW = datetime(2025, 6, 30, 12, 0, 0, tzinfo=UTC)
HELD_BACK = 120  # transactions left out of the first load, added by the second
REMOVED = 15  # transactions of the first load missing from the second (must leave the fact)
CHANGED = 10  # transactions of the first load whose amount the second load changes
MODEL = "transactions"
SNAPSHOT = "contacts_snapshot"


def _env(base: Path) -> dict[str, str]:
    return {**os.environ, **config.dbt_env(), "DBT_TARGET": "spark", "C360_SPARK_DIR": str(base / "spark"),
            "SPARK_LOCAL_IP": "127.0.0.1"}


def _python(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, *args], env=env, cwd=config.REPO_ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def _transaction_amounts(base: Path, env: dict[str, str], label: str, *also: str) -> dict[str, float]:
    """transaction_id -> amount of marts.transactions as Spark reads it now (its own JVM, after
    the killed one); the tables `also` names are dumped by the same JVM into dump_<label>/."""
    out = base / f"dump_{label}"
    _python(["-m", "c360.spark", "dump", "--out", str(out), f"marts.{MODEL}", *also], env)
    table = pq.read_table(out / f"marts.{MODEL}.parquet", columns=["transaction_id", "amount"]).to_pydict()
    return {tid: float(amount) for tid, amount in zip(table["transaction_id"], table["amount"], strict=True)}


def _transaction_ids(base: Path, env: dict[str, str], label: str) -> set[str]:
    """The ids in marts.transactions as Spark reads it now."""
    return set(_transaction_amounts(base, env, label))


def _killed_run(base: Path, env: dict[str, str], label: str, moment: Callable[[Path], bool]) -> str:
    """Start `dbt run -s +transactions` (its upstream tables read the new raw rows), SIGKILL its
    process group when `moment(log)` holds."""
    logs = base / f"logs_{label}"
    command = [dbt_executable(), "run", "-s", f"+{MODEL}", "--project-dir", str(config.DBT_PROJECT_DIR),
               "--profiles-dir", str(config.DBT_PROJECT_DIR), "--target", "spark",
               "--log-path", str(logs), "--target-path", str(base / f"target_{label}")]
    process = subprocess.Popen(command, env=env, cwd=config.DBT_PROJECT_DIR, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while not moment(logs / "dbt.log"):
            assert process.poll() is None, f"{label}: dbt ended (exit {process.returncode}) before the kill"
            assert time.monotonic() < deadline, f"{label}: the moment to kill never came"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    return (logs / "dbt.log").read_text(errors="replace")


def _logged(text: str, times: int, on: str = "") -> Callable[[Path], bool]:
    """True once dbt's debug log holds `text` `times` times on lines that also hold `on` (dbt
    logs a statement as it sends it; other incremental models upstream rewrite their own tables)."""

    def moment(log: Path) -> bool:
        if not log.exists():
            return False
        lines = log.read_text(errors="replace").splitlines()
        return sum(line.count(text) for line in lines if on in line) >= times

    return moment


def _writing_version(warehouse: Path) -> Callable[[Path], bool]:
    """True once Spark has begun writing files of a new `transactions__v<run>` version."""
    def moment(log: Path) -> bool:
        return any(path.is_dir() and any(path.iterdir())
                   for path in (warehouse / "marts.db").glob(f"{MODEL}__v*"))
    return moment


def test_killed_rewrite_leaves_the_table_whole_and_the_next_run_recovers(tmp_path: Path) -> None:
    _require_spark()
    from data_gen.generate.generator import generate

    raw = tmp_path / "raw"
    generate(customers=CUSTOMERS, seed=SEED, out=raw, fmt="csv", defects="none", now=NOW)
    # the first load holds back the latest-loaded transactions, so the second load's are new to
    # the incremental run (the rows already published are unchanged: the reconciling pre-hook
    # keeps them, the merge adds the held-back ones)
    with (raw / "transactions.csv").open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    rows.sort(key=lambda row: row[header.index("_loaded_at_utc")])
    tid, amount, owner = header.index("id"), header.index("amount"), header.index("contact_id")
    held_back = {row[tid] for row in rows[-HELD_BACK:]}
    # the person erased by the reload: the contact of the most first-load transactions (so it has
    # rows in the fact and a version in the snapshot); all of its transactions must leave the fact
    erased_contact = Counter(row[owner] for row in rows[:-HELD_BACK]).most_common(1)[0][0]
    erased_rows = {row[tid] for row in rows if row[owner] == erased_contact}
    first, second = tmp_path / "raw_first", tmp_path / "raw_second"
    with (raw / "contacts.csv").open(newline="", encoding="utf-8") as handle:
        contact_header, *contacts = list(csv.reader(handle))
    contact_id = contact_header.index("id")
    assert sum(row[contact_id] == erased_contact for row in contacts) == 1
    for folder in (first, second):
        folder.mkdir()
    shutil.copyfile(raw / "contacts.csv", first / "contacts.csv")
    with (second / "contacts.csv").open("w", newline="", encoding="utf-8") as handle:
        kept_contacts = [r for r in contacts if r[contact_id] != erased_contact]
        csv.writer(handle).writerows([contact_header, *kept_contacts])
    with (first / "transactions.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows[:-HELD_BACK]])
    # the reload: every 20th published row gone, the next ones with a new amount, the rest as
    # before (the erased person's rows stay in the web export: the CRM decides who is erased)
    removed = set([row[tid] for row in rows[: -HELD_BACK : 20] if row[tid] not in erased_rows][:REMOVED])
    kept = [row for row in rows if row[tid] not in removed]
    changed = {row[tid]: f"{float(row[amount]) + 1.5:.2f}" for row in kept[1:-HELD_BACK:20]
               if row[tid] not in erased_rows}
    changed = dict(list(changed.items())[:CHANGED])
    reloaded = [[*row[:amount], changed.get(row[tid], row[amount]), *row[amount + 1 :]] for row in kept]
    with (second / "transactions.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *reloaded])
    assert len(removed) == REMOVED and len(changed) == CHANGED and erased_rows - held_back
    env = _env(tmp_path)

    _python(["-m", "data_gen", "load", "--target", "spark", "--dir", str(first)], env)
    first_build = ["build", "-s", f"+{MODEL}", f"+{SNAPSHOT}", "--resource-type", "model",
                   "--resource-type", "seed", "--resource-type", "snapshot"]
    run_dbt(first_build, target="spark", target_path=tmp_path / "target_first", env=env)
    # what the first build published: every first-load row (all valid, no defects); read from the
    # file, not from Spark (one JVM less): the kill during the write below must leave exactly these
    before = {row[tid] for row in rows[:-HELD_BACK]}
    assert removed <= before and set(changed) <= before
    _python(["-m", "data_gen", "load", "--target", "spark", "--dir", str(second)], env)

    warehouse = tmp_path / "spark" / "warehouse"
    _killed_run(tmp_path, env, "during_write", _writing_version(warehouse))
    after_write_kill = _transaction_ids(tmp_path, env, "after_write_kill")
    # The reload makes the run rewrite the table twice, each with two `set location` statements
    # (the switch, then the version table taking the old folder): the pre-hook's delete of the
    # removed and changed rows, then the merge. The fourth is sent only after the third, the
    # merge's switch, has finished: the kill lands after that switch, before its clean-up
    # (counted on this table's statements: the upstream register int_contacts_registered is
    # incremental too and is rewritten first). The first kill, while a version is written, lands
    # in the delete's rewrite.
    log = _killed_run(tmp_path, env, "after_switch", _logged("set location", 4, on=f"{MODEL}__v"))
    assert f"{MODEL}__v" in log, "the run reached the switch to a new version"
    after_switch_kill = _transaction_ids(tmp_path, env, "after_switch_kill")

    # the recovery also re-snapshots the contacts: the erased person's versions must go
    recover = ["build", "-s", f"+{MODEL}", f"+{SNAPSHOT}", "--resource-type", "model",
               "--resource-type", "seed", "--resource-type", "snapshot",
               "--log-path", str(tmp_path / "logs_recover")]
    recovered = run_dbt(recover, target="spark", target_path=tmp_path / "target_recover", env=env,
                        check=False)
    assert recovered.returncode == 0, recovered.stdout[-4000:]
    amounts = _transaction_amounts(tmp_path, env, "after", f"snapshots.{SNAPSHOT}")
    after = set(amounts)

    # the complete run added exactly the held-back transactions (all valid: no defects), dropped
    # the removed ones and the erased person's, and took the changed amounts
    assert after == (before - removed - erased_rows) | (held_back - erased_rows)
    assert {t: amounts[t] for t in changed} == {t: float(a) for t, a in changed.items()}
    # killed while the new version was written: the old rows; killed after the switch: the new
    # ones (and the recovery must not delete them through the leftover version table that
    # shares their folder)
    assert after_write_kill == before, f"killed writing: {len(after_write_kill)} rows, not {len(before)}"
    # the snapshot after the erasure: no version of the erased contact, every other contact
    # of the export with exactly one current version (nothing else changed)
    versions = pq.read_table(tmp_path / "dump_after" / f"snapshots.{SNAPSHOT}.parquet",
                             columns=["contact_id", "dbt_valid_to"]).to_pandas()
    assert erased_contact not in set(versions["contact_id"])
    assert versions["dbt_valid_to"].isna().all()
    assert sorted(versions["contact_id"]) == sorted(r[contact_id] for r in kept_contacts)
    assert after_switch_kill == after, f"killed after switch: {len(after_switch_kill)} rows, not {len(after)}"
    recover_log = (tmp_path / "logs_recover" / "dbt.log").read_text(errors="replace")
    assert "drop table" in recover_log and "__v" in recover_log, "the leftover version tables were dropped"
    # the snapshot was rewritten twice by the crash-safe swap (two `set location` each): the
    # snapshot's own merge (the removed contact closed), then the erasure post-hook's rewrite
    snapshot_swaps = sum(line.count("set location") for line in recover_log.splitlines()
                         if f"{SNAPSHOT}__v" in line)
    assert snapshot_swaps >= 4, f"{snapshot_swaps} `set location` statements on {SNAPSHOT} versions"
    versions = [p for p in (warehouse / "marts.db").glob(f"{MODEL}__v*") if any(p.rglob("*.parquet"))]
    assert len(versions) <= 2, f"version folders with files left behind: {versions}"
