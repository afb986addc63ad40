"""The raw-data generator: determinism, exact defect accounting, formats, realism, CLI."""

from __future__ import annotations

import argparse
import csv
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from c360.config import sample_dir
from data_gen.generate import generator
from data_gen.generate.behaviour import CATEGORIES, simulate_customers, simulate_transactions
from data_gen.generate.text import assemble, literal, tenths_seg, timestamp_matrix, uuid_matrix

NOW = datetime(2024, 5, 9, 10, 0, tzinfo=UTC)
SAMPLE = sample_dir()
TS_RE = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$"
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
TS_FMT = "%Y-%m-%d %H:%M:%S.%f"


def read(path: Path) -> pd.DataFrame:
    """A raw file as text; only empty fields become NaN (so `N/A` stays text)."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path).astype(object).where(lambda d: d.notna(), np.nan)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]).astype(object)


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """1,500 people with the `heavy` defect preset (so every kind occurs)."""
    out = tmp_path_factory.mktemp("gen_heavy")
    manifest = generator.generate(1500, 11, out, defects="heavy", now=NOW)
    return manifest, read(out / "contacts.csv"), read(out / "transactions.csv")


def osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (edits incl. adjacent transposition), plain DP."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def rows_of(mask: pd.Series) -> set[int]:
    """1-based data row numbers where `mask` holds."""
    return set((np.flatnonzero(mask.to_numpy()) + 1).tolist())


def detect_contacts(c: pd.DataFrame, now: datetime) -> dict[str, set[int]]:
    """Every contact defect kind, recomputed from the file alone."""
    names = c.groupby("id")["name"].transform("nunique")
    loaded = pd.to_datetime(c["_loaded_at_utc"], format=TS_FMT, utc=True)
    return {
        "shared_id": rows_of(names > 1),
        "duplicate_contact": rows_of(c.duplicated(keep="first")),
        "contact_missing_value": rows_of(c[["gender", "birthdate", "address", "mail"]].isna().any(axis=1)),
        "contact_stale_batch": rows_of(loaded < now - timedelta(hours=24)),
    }


def detect_transactions(t: pd.DataFrame, contact_ids: set[str], now: datetime) -> dict[str, set[int]]:
    """Every transaction defect kind, recomputed from the files alone."""
    amount = t["amount"]
    is_number = amount.fillna("").str.fullmatch(r"-?\d+(\.\d+)?")
    value = pd.to_numeric(amount.where(is_number), errors="coerce")
    when = pd.to_datetime(t["transaction_date"], format=TS_FMT, errors="coerce", utc=True)
    loaded = pd.to_datetime(t["_loaded_at_utc"], format=TS_FMT, utc=True)
    by_prefix: dict[str, list[str]] = {}
    for cid in contact_ids:
        by_prefix.setdefault(cid[:8], []).append(cid)
        by_prefix.setdefault(cid[-8:], []).append(cid)
    unknown_id = ~t["contact_id"].isin(contact_ids)
    orphan = unknown_id & t["contact_id"].map(
        lambda x: any(osa_distance(x, r) == 1 for r in by_prefix.get(x[:8], []) + by_prefix.get(x[-8:], []))
    )
    return {
        "duplicate_transaction": rows_of(t.duplicated(keep="first")),
        "orphan_contact_id": rows_of(orphan),
        "unknown_category": rows_of(t["category"].notna() & ~t["category"].isin(CATEGORIES)),
        "transaction_missing_value": rows_of(
            t[["amount", "category", "transaction_date", "item_count"]].isna().any(axis=1)
        ),
        "non_numeric_amount": rows_of(amount.notna() & ~is_number),
        "zero_amount": rows_of(value == 0),
        "negative_amount": rows_of(value < 0),
        "unparseable_date": rows_of(t["transaction_date"].notna() & when.isna()),
        "future_date": rows_of(when > now),
        "transaction_stale_batch": rows_of(loaded < now - timedelta(hours=24)),
        "_unexplained_unknown_id": rows_of(unknown_id & ~orphan),
    }


def test_manifest_counts_equal_counts_in_files(dataset: tuple[dict, pd.DataFrame, pd.DataFrame]) -> None:
    manifest, c, t = dataset
    found = {"contacts": detect_contacts(c, NOW), "transactions": detect_transactions(t, set(c["id"]), NOW)}
    assert found["transactions"].pop("_unexplained_unknown_id") == set()
    # an alias looks like a new person in the file: its rows are those of the manifest's alias ids
    alias_ids = {b for _, b in manifest["defects"]["contacts"]["same_person_new_id"]["pairs"]}
    found["contacts"]["same_person_new_id"] = rows_of(c["id"].isin(alias_ids))
    for file, kinds in found.items():
        for kind, rows in kinds.items():
            entry = manifest["defects"][file][kind]
            assert len(rows) > 0, f"{kind} never occurs with the heavy preset"
            assert entry["rows"] == len(rows), kind
            assert set(entry["row_numbers"]) == rows, kind
        seen = [r for rows in kinds.values() for r in rows]
        assert len(seen) == len(set(seen)), f"{file}: a row carries two defect kinds"
    people = manifest["files"]["contacts"]["people"]
    assert manifest["defects"]["contacts"]["shared_id"]["rows"] == 2 * round(0.01 * people)
    assert (
        len(c)
        == people + len(found["contacts"]["duplicate_contact"]) + len(found["contacts"]["same_person_new_id"])
        == manifest["files"]["contacts"]["rows"]
    )
    purchases = manifest["files"]["transactions"]["purchases"]
    assert len(t) == purchases + len(found["transactions"]["duplicate_transaction"])
    assert manifest["defects"]["transactions"]["zero_amount"]["rows"] == round(0.0025 * purchases)
    missing = c[["gender", "birthdate", "address", "mail"]].isna().sum().to_dict()
    assert manifest["defects"]["contacts"]["contact_missing_value"]["by_column"] == missing


def test_same_person_new_id_pairs_are_one_person_with_variations(
    dataset: tuple[dict, pd.DataFrame, pd.DataFrame],
) -> None:
    manifest, c, t = dataset
    entry = manifest["defects"]["contacts"]["same_person_new_id"]
    pairs = entry["pairs"]
    assert entry["rows"] == len(pairs) == round(0.05 * manifest["files"]["contacts"]["people"])
    by_id = c.drop_duplicates("id").set_index("id")
    a = by_id.loc[[p[0] for p in pairs]].reset_index()
    b = by_id.loc[[p[1] for p in pairs]].reset_index()
    assert c["id"].isin([p[1] for p in pairs]).sum() == len(pairs)  # each alias id occurs once
    assert (a["gender"].fillna("") == b["gender"].fillna("")).all()
    first_a, first_b = a["name"].str.split(" ").str[0], b["name"].str.split(" ").str[0]
    last_a, last_b = a["name"].str.split(" ").str[-1], b["name"].str.split(" ").str[-1]
    # every variation occurs, and no alias is an exact copy of every field but the id
    assert (first_a != first_b).any() and (last_a != last_b).any()
    assert (a["mail"] != b["mail"]).any() and (a["mail"] == b["mail"]).any()
    assert (a["address"] != b["address"]).any()
    day_first = pd.to_datetime(a["birthdate"], format="%Y-%d-%m", errors="coerce")
    swapped = (a["birthdate"] != b["birthdate"]) & (pd.to_datetime(b["birthdate"]) == day_first)
    assert swapped.any()
    assert ((a["birthdate"] == b["birthdate"]) | swapped).all()
    on_alias = t["contact_id"].isin(set(b["id"]))
    assert on_alias.sum() == entry["transactions_on_alias"] > 0
    # the person's other purchases stay on the original id
    assert t["contact_id"].isin(set(a["id"])).sum() > 0


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    runs = [(tmp_path / "a", 5), (tmp_path / "b", 5), (tmp_path / "c", 6)]
    for out, seed in runs:
        generator.generate(300, seed, out, days=120, now=NOW)
    first_run = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    generator.generate(300, 5, tmp_path / "a", days=120, now=NOW)  # rerun into the same directory
    assert {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()} == first_run
    assert sorted(first_run) == ["contacts.csv", "manifest.json", "transactions.csv"]  # no .partial left
    for name in ("contacts.csv", "transactions.csv", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes(), name


def test_schema_and_text_formats_match_the_exercise(dataset: tuple[dict, pd.DataFrame, pd.DataFrame]) -> None:
    manifest, c, t = dataset
    for name, df in (("contacts.csv", c), ("transactions.csv", t)):
        with (SAMPLE / name).open(newline="") as fh:
            assert list(df.columns) == next(csv.reader(fh))
    defect_rows = {r for kind in manifest["defects"]["transactions"].values() for r in kind["row_numbers"]}
    clean = t[~t.index.isin([r - 1 for r in defect_rows])]
    assert clean["contact_id"].str.fullmatch(UUID_RE).all() and clean["id"].str.fullmatch(UUID_RE).all()
    assert (
        clean["transaction_date"].str.fullmatch(TS_RE).all()
        and t["_loaded_at_utc"].str.fullmatch(TS_RE).all()
    )
    assert clean["amount"].str.fullmatch(r"\d+\.\d").all()
    assert clean["item_count"].isin(list("12345")).all()
    assert c["id"].str.fullmatch(UUID_RE).all() and c["_loaded_at_utc"].str.fullmatch(TS_RE).all()
    assert c["birthdate"].dropna().str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert c["address"].dropna().str.fullmatch(r".+ .+, .+, (NSW|VIC|QLD|WA|SA|TAS|ACT|NT), \d{4}").all()
    assert (
        c["mail"].dropna() == (c["username"] + "@" + c["mail"].dropna().str.split("@").str[1]).dropna()
    ).all()
    first = c["name"].str.split(" ").str[0]
    assert (first.to_frame().assign(g=c["gender"]).dropna().groupby("name")["g"].nunique() == 1).all()


def test_clean_rows_are_plausible_and_fresh(dataset: tuple[dict, pd.DataFrame, pd.DataFrame]) -> None:
    manifest, c, t = dataset
    loaded = datetime.strptime(manifest["loaded_at_utc"], TS_FMT).replace(tzinfo=UTC)
    assert NOW - timedelta(hours=1) <= loaded <= NOW
    birth = pd.to_datetime(c["birthdate"], format="%Y-%m-%d").dropna()
    age = (pd.Timestamp(NOW.date()) - birth).dt.days / 365.2425
    assert age.min() >= 18 and age.max() < 91
    when = pd.to_datetime(t["transaction_date"], format=TS_FMT, errors="coerce", utc=True)
    fresh = t["_loaded_at_utc"] == manifest["loaded_at_utc"]
    future = fresh & (when > NOW)
    assert future.sum() == len(manifest["defects"]["transactions"]["future_date"]["row_numbers"])
    assert (when[fresh & when.notna() & ~future] < loaded).all()


def test_defects_none_gives_clean_files(tmp_path: Path) -> None:
    manifest = generator.generate(400, 3, tmp_path, defects="none", now=NOW)
    c, t = read(tmp_path / "contacts.csv"), read(tmp_path / "transactions.csv")
    assert not c.isna().any().any() and not t.isna().any().any()
    found = {**detect_contacts(c, NOW), **detect_transactions(t, set(c["id"]), NOW)}
    assert {k: len(v) for k, v in found.items() if v} == {}
    assert all(e["rows"] == 0 for f in manifest["defects"].values() for e in f.values())
    assert c["id"].is_unique and t["id"].is_unique and c["username"].is_unique


def test_csv_and_parquet_hold_the_same_content(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        generator.generate(300, 9, tmp_path / fmt, defects="heavy", now=NOW, fmt=fmt)
    for name in ("contacts", "transactions"):
        a, b = read(tmp_path / "csv" / f"{name}.csv"), read(tmp_path / "parquet" / f"{name}.parquet")
        pd.testing.assert_frame_equal(a, b)


def test_personas_heavy_tail_and_planted_transitions(
    dataset: tuple[dict, pd.DataFrame, pd.DataFrame],
) -> None:
    manifest, c, t = dataset
    rng = np.random.default_rng(0)
    cust = simulate_customers(rng, 3000, 0, 365 * 86_400_000, 19_000)
    tx = simulate_transactions(rng, cust, 0, 365)
    table = pd.crosstab(cust.persona[tx.customer], tx.category)
    assert chi2_contingency(table)[1] < 1e-12
    assert 8 <= len(tx.customer) / 3000 <= 12
    defect_rows = {r for kind in manifest["defects"]["transactions"].values() for r in kind["row_numbers"]}
    ok = t[~t.index.isin([r - 1 for r in defect_rows])].copy()
    ok["amount"] = ok["amount"].astype(float)
    ok["at"] = pd.to_datetime(ok["transaction_date"], format=TS_FMT)
    spend = ok.groupby("contact_id")["amount"].sum().sort_values(ascending=False)
    assert spend.head(len(spend) // 10).sum() / spend.sum() > 0.30
    gender = ok.merge(c.drop_duplicates("id")[["id", "gender"]], left_on="contact_id", right_on="id")
    assert chi2_contingency(pd.crosstab(gender["gender"], gender["category"]))[1] < 1e-6
    ok = ok.sort_values(["contact_id", "at"], kind="stable")
    prev = ok.groupby("contact_id")["category"].shift()
    pairs = pd.DataFrame({"prev": prev, "next": ok["category"]}).dropna()
    switch = pairs[pairs["prev"] != pairs["next"]]
    for src, dst in (("Sports, Fitness & Outdoors", "Clothing, Shoes & Accessories"), ("Kitchen", "Books")):
        conditional = (switch.loc[switch["prev"] == src, "next"] == dst).mean()
        overall = (switch.loc[switch["prev"] != dst, "next"] == dst).mean()
        assert conditional > overall + 0.15, (src, dst, conditional, overall)
    day = ok["at"].dt.normalize()
    per_day = day.value_counts()
    weekend = per_day[per_day.index.day_of_week >= 5].mean()
    assert weekend > per_day[per_day.index.day_of_week < 5].mean() * 1.1


def test_cli_arguments_and_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    generator.add_arguments(parser)
    help_text = parser.format_help()
    assert "--rate-shared-id" in help_text and "--defects" in help_text
    args = parser.parse_args(
        [
            "--customers",
            "200",
            "--out",
            str(tmp_path),
            "--rate-shared-id",
            "0",
            "--now",
            "2024-05-09T10:00:00Z",
            "--quiet",
        ]
    )
    assert generator.run(args) == 0
    printed = capsys.readouterr()
    assert printed.out.count("\n") == 1 and str(tmp_path) in printed.out and printed.err == ""
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["defect_rates"]["shared_id"] == 0 and manifest["defect_rates"]["zero_amount"] == 0.0005
    assert manifest["defects"]["contacts"]["shared_id"]["rows"] == 0
    assert manifest["files"]["contacts"]["rows"] == len(read(tmp_path / "contacts.csv"))
    bad = parser.parse_args(["--customers", "10", "--out", str(tmp_path / "x"), "--rate-zero-amount", "2"])
    assert generator.run(bad) == 2
    assert "zero_amount" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["--customers", "0", "--out", str(tmp_path)])


def test_text_primitives_match_python() -> None:
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 256, (500, 16), dtype=np.uint8)
    texts = [row.tobytes().decode() for row in uuid_matrix(raw)]
    for row, text in zip(raw, texts, strict=True):
        b = bytearray(row.tobytes())
        b[6], b[8] = (b[6] & 0x0F) | 0x40, (b[8] & 0x3F) | 0x80
        assert text == str(uuid.UUID(bytes=bytes(b))) and uuid.UUID(text).version == 4
    ms = rng.integers(-2_000_000_000_000, 4_000_000_000_000, 2000)
    ms[:3] = [0, 951_782_400_000, 1_709_164_800_999]  # epoch, 2000-02-29, 2024-02-29 end of ms
    shown = [row.tobytes().decode() for row in timestamp_matrix(ms)]
    expected = [
        (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(v))).strftime(TS_FMT)[:-3] for v in ms
    ]
    assert shown == expected
    amounts = tenths_seg(np.array([0, 7, 10, 663, 123456]))
    lines = bytes(assemble([amounts, literal(5, "\n")])[0]).decode().splitlines()
    assert lines == ["0.0", "0.7", "1.0", "66.3", "12345.6"]


def test_failed_run_leaves_previous_output_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generator.generate(200, 1, tmp_path, now=NOW)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(generator, "transaction_chunk", broken)
    with pytest.raises(OSError, match="disk full"):
        generator.generate(250, 2, tmp_path, now=NOW)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize(("customers", "days"), [(1, 1), (7, 1), (2, 30)])
def test_tiny_runs_still_account_for_every_row(tmp_path: Path, customers: int, days: int) -> None:
    manifest = generator.generate(customers, customers, tmp_path, days=days, defects="heavy", now=NOW)
    c, t = read(tmp_path / "contacts.csv"), read(tmp_path / "transactions.csv")
    assert (len(c), len(t)) == (
        manifest["files"]["contacts"]["rows"],
        manifest["files"]["transactions"]["rows"],
    )
    found = detect_transactions(t, set(c["id"]), NOW)
    assert found.pop("_unexplained_unknown_id") == set()
    assert {k: sorted(v) for k, v in found.items()} == {
        k: e["row_numbers"] for k, e in manifest["defects"]["transactions"].items()
    }
