"""The semantic-layer YAML: generated category metrics in sync with the seed, labels, names."""

from __future__ import annotations

import csv
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from c360 import config
from tests.conftest import import_script
from tests.metrics_expected import NAMED_METRICS

SEMANTIC_DIR = config.REPO_ROOT / "semantic_models"
SEED = config.DBT_PROJECT_DIR / "seeds" / "product_categories.csv"
REQUIRED_METRICS = set(NAMED_METRICS) - {"books_spend_share"}
REQUIRED_DIMENSIONS = {
    ("transactions", "category"),
    ("transactions", "transaction_at"),
    ("customers", "gender"),
    ("customers", "age_band"),
    ("customers", "state"),
    ("customers", "rfm_segment"),
    ("customers", "acquisition_month"),
}


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    """scripts/gen_category_metrics.py imported as a module."""
    return import_script("gen_category_metrics")


def _yaml_docs() -> dict[str, list[dict]]:
    merged: dict[str, list[dict]] = {"metrics": [], "semantic_models": [], "saved_queries": []}
    for path in sorted(SEMANTIC_DIR.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in merged:
            merged[key].extend(doc.get(key, []))
    return merged


def test_generated_yaml_is_in_sync_with_seed(generator: ModuleType) -> None:
    committed = (SEMANTIC_DIR / "category_share_metrics.yml").read_text(encoding="utf-8")
    assert committed == generator.render(generator.read_categories(SEED)), (
        "semantic_models/category_share_metrics.yml is stale: run scripts/gen_category_metrics.py"
    )
    assert generator.main(["--check"]) == 0


def test_one_share_metric_per_seed_category() -> None:
    with SEED.open(newline="", encoding="utf-8") as handle:
        seed = list(csv.DictReader(handle))
    metrics = {m["name"]: m for m in _yaml_docs()["metrics"]}
    share_names = {name for name in metrics if name.endswith("_spend_share")}
    assert share_names == {f"{row['category_slug']}_spend_share" for row in seed}
    for row in seed:
        slug = row["category_slug"]
        share = metrics[f"{slug}_spend_share"]
        assert share["type"] == "ratio"
        assert share["type_params"] == {"numerator": f"{slug}_spend", "denominator": "total_spend"}
        numerator = metrics[f"{slug}_spend"]
        assert numerator["filter"] == f"{{{{ Dimension('transaction__category_slug') }}}} = '{slug}'"
        assert row["category_name"] in share["label"]


def test_check_mode_detects_a_stale_file(generator: ModuleType, tmp_path: Path) -> None:
    seed = tmp_path / "seed.csv"
    seed.write_text(SEED.read_text(encoding="utf-8") + "Garden,garden,8\n", encoding="utf-8")
    stale = tmp_path / "out.yml"
    stale.write_text((SEMANTIC_DIR / "category_share_metrics.yml").read_text(encoding="utf-8"))
    assert generator.main(["--check", "--seed", str(seed), "--output", str(stale)]) == 1
    assert generator.main(["--seed", str(seed), "--output", str(stale)]) == 0
    assert "garden_spend_share" in stale.read_text(encoding="utf-8")
    assert generator.main(["--check", "--seed", str(seed), "--output", str(stale)]) == 0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Books,Books Slug,9", "row 8, column category_slug"),
        ("Garden,garden,x", "row 8, column sort_order"),
        (",garden,8", "row 8, column category_name"),
        ("Books again,books,8", "duplicate category_slug books"),
    ],
)
def test_bad_seed_rows_are_named(generator: ModuleType, tmp_path: Path, row: str, message: str) -> None:
    seed = tmp_path / "product_categories.csv"
    seed.write_text(SEED.read_text(encoding="utf-8") + row + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        generator.read_categories(seed)
    assert str(seed) in str(info.value)


def test_every_metric_has_label_and_description_and_required_names_exist() -> None:
    metrics = _yaml_docs()["metrics"]
    names = [m["name"] for m in metrics]
    assert len(names) == len(set(names))
    assert REQUIRED_METRICS <= set(names)
    for metric in metrics:
        assert metric.get("label"), metric["name"]
        assert len(str(metric.get("description", "")).strip()) > 10, metric["name"]


def test_semantic_models_have_required_dimensions_and_saved_queries() -> None:
    docs = _yaml_docs()
    found = {(m["name"], d["name"]) for m in docs["semantic_models"] for d in m["dimensions"]}
    assert REQUIRED_DIMENSIONS <= found
    entities = {e["name"] for m in docs["semantic_models"] for e in m["entities"]}
    assert {"transaction", "customer"} <= entities
    saved = {q["name"] for q in docs["saved_queries"]}
    assert {"monthly_spend_by_category", "segment_summary", "cohort_retention"} <= saved
