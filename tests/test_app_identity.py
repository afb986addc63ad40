"""Identity resolution in the app (issue #21): a merged person's records and match evidence on the
Customer profile, cluster sizes, review pairs and precision/recall on the Data quality page.

One small warehouse per module: ~300 generated people, 5 % registered twice, loaded, the identity
step scored against the generator's manifest, dbt up to marts.customers and quality.identity_matches
(tests/test_identity_warehouse.py's helpers). Expected values are plain SQL over that warehouse
and pandas over the generator's files.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from test_app_helpers import PAGES, expected_ref, metric, open_page, point_app_at, texts
from test_identity_warehouse import _aliased, _build

from c360.identity.evaluate import SCORED, scoring_row
from c360.identity.model import FIELDS, top_levels
from c360.identity.step import run_duckdb
from tests.conftest import Warehouse, duckdb_warehouse

# what the two pages read (each with its parents); the rest of the project is not built
SELECT = "customers identity_matches customer_category_spend rfm_segments row_conservation"
MEMBER_COLUMNS = ["contact_id", "full_name", "email", "birth_date", "address"]


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    root = tmp_path_factory.mktemp("app_identity")
    raw = _aliased(root / "raw", 300, 5, 0.05)
    warehouse = duckdb_warehouse(root / "wh")
    _build(warehouse, raw, SELECT, manifest=raw / "manifest.json")
    warehouse.raw_dir = raw
    return warehouse


@pytest.fixture
def app_on(merged: Warehouse, monkeypatch: pytest.MonkeyPatch) -> Iterator[Warehouse]:
    point_app_at(monkeypatch, merged.env)
    yield merged
    st.cache_data.clear()


def _person(merged: Warehouse) -> tuple[str, list[str]]:
    """A merged person (the first key with a scored pair between its records) and its member ids."""
    clusters = merged.query(
        "select contact_id, person_id from identity.contact_clusters where cluster_size > 1"
    )
    assert len(clusters) >= 10  # the aliases were found
    person = sorted(clusters["person_id"].unique())[0]
    return person, sorted(clusters.loc[clusters["person_id"] == person, "contact_id"])


def _open_profile(customer_id: str) -> AppTest:
    at = open_page(PAGES[1])
    at.text_input(key="customer_search").input(customer_id).run()
    at.selectbox(key="customer_pick").select(customer_id).run()
    assert not at.exception and not at.error
    return at


def _frame(at: AppTest, columns: set[str]) -> pd.DataFrame:
    frames = [df.value for df in at.dataframe if columns <= set(df.value.columns)]
    assert len(frames) == 1, [list(df.value.columns) for df in at.dataframe]
    return frames[0]


def _word(field: str, level: float) -> str:
    if pd.isna(level) or level < 0:
        return "missing"
    return "differ" if level == 0 else ("agree" if level == top_levels()[field] else "close")


def _expected_pairs(merged: Warehouse, members: list[str], ref: bool) -> set[tuple]:
    marks = ", ".join("?" for _ in members)
    pairs = merged.query(
        f"select * from quality.identity_matches where contact_id_l in ({marks})"
        f" and contact_id_r in ({marks})",
        (*members, *members),
    )
    assert not pairs.empty
    name = expected_ref if ref else str
    return {
        (name(p["contact_id_l"]), name(p["contact_id_r"]), p["matched_by"], round(p["match_probability"], 6),
         *(_word(f, p[f"{f}_level"]) for f in FIELDS))
        for p in pairs.to_dict("records")
    }  # fmt: skip


def _shown_pairs(at: AppTest) -> set[tuple]:
    shown = _frame(at, {"matched_by", *FIELDS})
    return {
        (p["contact_id_l"], p["contact_id_r"], p["matched_by"], round(p["match_probability"], 6),
         *(p[f] for f in FIELDS))
        for p in shown.to_dict("records")
    }  # fmt: skip


def test_profile_lists_the_masked_member_records_and_their_per_field_agreement(app_on: Warehouse) -> None:
    person, members = _person(app_on)
    at = _open_profile(person)
    records = _frame(at, set(MEMBER_COLUMNS))
    assert sorted(records["contact_id"]) == sorted(expected_ref(m) for m in members)
    assert (records["birth_date"] == "***").all()
    raw = pd.read_csv(app_on.raw_dir / "contacts.csv", dtype=str, keep_default_na=False)
    raw = raw.assign(id=raw["id"].str.strip()).drop_duplicates("id").set_index("id").loc[members]
    initials = raw["name"].map(lambda n: " ".join(f"{w[0].upper()}." for w in n.split()))
    assert sorted(records["full_name"]) == sorted(initials)
    assert _shown_pairs(at) == _expected_pairs(app_on, members, ref=True)
    shown = texts(at)
    assert f"{len(members)} source records matched as one person" in shown
    assert "close: similar but not equal" in shown  # the legend


def test_profile_shows_pii_and_raw_ids_with_show_pii(
    app_on: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C360_SHOW_PII", "1")
    person, members = _person(app_on)
    at = _open_profile(person)
    records = _frame(at, set(MEMBER_COLUMNS)).set_index("contact_id").sort_index()
    raw = pd.read_csv(app_on.raw_dir / "contacts.csv", dtype=str, keep_default_na=False)
    raw = raw.assign(id=raw["id"].str.strip()).drop_duplicates("id").set_index("id").loc[members]
    assert list(records.index) == members
    assert list(records["full_name"]) == list(raw["name"].str.strip())
    assert list(records["email"]) == list(raw["mail"].str.strip().str.lower())
    assert _shown_pairs(at) == _expected_pairs(app_on, members, ref=False)


def test_a_one_record_customer_says_nothing_was_merged(app_on: Warehouse) -> None:
    (single,) = app_on.query(
        "select customer_id from marts.customers where source_record_count = 1 order by customer_id limit 1"
    ).iloc[0]
    at = _open_profile(single)
    assert "One source record: nothing was merged" in texts(at)
    assert not [df for df in at.dataframe if "matched_by" in df.value.columns]


def test_data_quality_cluster_sizes_review_pairs_and_scores_equal_sql(app_on: Warehouse) -> None:
    at = open_page(PAGES[3])
    sizes = _frame(at, {"records", "people"})
    expected = app_on.query(
        "select source_record_count as records, count(*) as people from marts.customers group by 1 order by 1"
    )
    assert sizes["records"].tolist() == expected["records"].tolist()
    assert sizes["people"].tolist() == expected["people"].tolist()
    assert expected.loc[expected["records"] > 1, "people"].sum() > 0
    (below,) = app_on.query(
        "select count(*) from quality.identity_matches where not is_match and match_probability < 0.9"
    ).iloc[0]
    assert f"{below:,} pair(s) not merged" in texts(at)
    # precision / recall recomputed with pandas from the manifest and the written clusters
    manifest = json.loads((app_on.raw_dir / "manifest.json").read_text())
    truth = {tuple(sorted(p)) for p in manifest["defects"]["contacts"]["same_person_new_id"]["pairs"]}
    clusters = app_on.query("select contact_id, person_id from identity.contact_clusters")
    found = {
        pair
        for _, group in clusters.groupby("person_id")
        for pair in combinations(sorted(group["contact_id"]), 2)
    }
    assert truth and found
    assert metric(at, "Pairwise precision") == f"{len(found & truth) / len(found):.2%}"
    assert metric(at, "Pairwise recall") == f"{len(found & truth) / len(truth):.2%}"
    assert metric(at, "True pairs") == f"{len(truth):,}"


def test_data_quality_says_the_truth_is_unknown_for_own_data(
    merged: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert merged.duckdb_path is not None
    own = tmp_path / "c360.duckdb"
    shutil.copy(merged.duckdb_path, own)
    run_duckdb(own, 0.9, 0.2)  # no manifest: own data
    point_app_at(monkeypatch, {**merged.env, "C360_DUCKDB_PATH": str(own)})
    at = open_page(PAGES[3])
    assert "Precision and recall: unknown. No generator manifest" in texts(at)
    assert not [m for m in at.metric if m.label == "Pairwise precision"]
    st.cache_data.clear()


def test_a_manifest_of_other_data_is_not_scored(merged: Warehouse, tmp_path: Path) -> None:
    manifest = json.loads((merged.raw_dir / "manifest.json").read_text())
    manifest["files"]["contacts"]["rows"] += 1  # another generation
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    clusters = merged.query("select * from identity.contact_clusters")
    contacts = merged.raw_dir / "contacts.csv"
    with duckdb.connect() as con:
        con.execute(f"create table raw_contacts as select * from read_csv('{contacts}', all_varchar = true)")
        other = scoring_row(con, clusters, path, 0.9, 0.2).iloc[0]
        same = scoring_row(con, clusters, merged.raw_dir / "manifest.json", 0.9, 0.2).iloc[0]
    assert "does not describe the loaded contacts" in other["status"] and pd.isna(other["precision"])
    truth = manifest["defects"]["contacts"]["same_person_new_id"]["pairs"]
    assert same["status"] == SCORED and same["truth_pairs"] == len(truth)


@pytest.mark.e2e
def test_browser_profile_shows_the_merged_records_and_why_they_matched(
    merged: Warehouse, tmp_path: Path
) -> None:
    """The real app (`streamlit run`, headless Chromium) on the merged warehouse: the profile of a
    merged person, opened from a shared link, shows its merged-records section (how many records,
    the agreement legend) without an error and with no raw id or email in its text. The table
    cells are drawn on a canvas that the page text does not hold: the AppTests above check them."""
    from app_store import served_app, system_chromium
    from test_app_helpers import APP_TEST_SALT

    person, members = _person(merged)
    env = {
        **os.environ,
        **merged.env,
        "C360_SHARE_SALT": APP_TEST_SALT,
        "C360_APP_DATA_DIR": str(tmp_path / "app"),
    }
    env.pop("C360_SHOW_PII", None)
    raw = pd.read_csv(merged.raw_dir / "contacts.csv", dtype=str, keep_default_na=False)
    emails = raw.loc[raw["id"].str.strip().isin(members), "mail"].str.strip().str.lower().tolist()
    with served_app(env, tmp_path / "streamlit.log") as url:
        browser = system_chromium()
        chromium = next(browser)
        try:
            page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(45_000)
            page.goto(f"{url}/customer?customer_id={expected_ref(person)}")
            page.get_by_text("Merged records").first.wait_for()
            page.wait_for_selector('[data-testid="stStatusWidget"]', state="hidden")
            page.wait_for_load_state("networkidle")
            shown = page.locator('[data-testid="stMain"]').inner_text().replace("\u2060", "")
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()
    assert f"{len(members)} source records matched as one person" in shown
    assert "close: similar but not equal" in shown  # the agreement legend beside the pair table
    assert not [m for m in members if m in shown] and not [e for e in emails if e in shown]
