"""dbt hygiene: no deprecations under dbt's forced JSON-schema checks, and every column described.

The deprecation check (scripts/check_dbt_deprecations.py) is run on the project (0 findings) and
on a temporary copy with column `meta` moved back out of `config`, where the expected findings
are recomputed from the YAML with PyYAML. The description check reads catalog.json (the columns
that really exist in a built DuckDB warehouse) and manifest.json (the YAML descriptions).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from c360 import config
from c360.dbt_runner import run_dbt

SCRIPT = config.REPO_ROOT / "scripts" / "check_dbt_deprecations.py"
DESCRIBED_TYPES = ("model", "seed", "snapshot")
# (catalog.json, manifest.json) of one `dbt docs generate`
Artifacts = tuple[dict[str, Any], dict[str, Any]]
FINDING = re.compile(r"^(?P<file>\S+\.yml): (?P<key_path>\S+): PropertyMovedToConfigDeprecation: ")


def run_check(tmp_path: Path, project_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the deprecation script as `make check-deprecations` does (DuckDB profile, isolated file)."""
    env = {**config.dbt_env(), "DBT_TARGET": "duckdb", "C360_DUCKDB_PATH": str(tmp_path / "unused.duckdb")}
    args = [sys.executable, str(SCRIPT)]
    if project_dir is not None:
        args += ["--project-dir", str(project_dir)]
    return subprocess.run(args, env=env, capture_output=True, text=True, check=False, timeout=300)


def top_level_column_meta(project_dir: Path) -> set[tuple[str, str]]:
    """(file, key path) of every column whose `meta` sits outside `config`, found with PyYAML."""
    found = set()
    for path in sorted(project_dir.rglob("*.yml")):
        relative = path.relative_to(project_dir).as_posix()
        if relative.startswith(("target/", "logs/")) or relative == "dbt_project.yml":
            continue
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for kind in ("models", "seeds", "snapshots"):
            for i, node in enumerate(document.get(kind) or []):
                for j, column in enumerate(node.get("columns") or []):
                    if "meta" in column:
                        found.add((relative, f"{kind}[{i}].columns[{j}]"))
        for i, source in enumerate(document.get("sources") or []):
            for j, table in enumerate(source.get("tables") or []):
                for k, column in enumerate(table.get("columns") or []):
                    if "meta" in column:
                        found.add((relative, f"sources[{i}].tables[{j}].columns[{k}]"))
    return found


def move_meta_out_of_config(path: Path, column: str) -> None:
    """Rewrite the YAML text so `column`'s `config: meta: {...}` becomes a top-level `meta: {...}`."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(
        rf"(?m)^(?P<indent> *)- name: {re.escape(column)}\n(?P<body>(?:(?P=indent)  (?!config:).*\n)*?)"
        rf"(?P=indent)  config:\n(?P=indent)    meta: (?P<meta>\{{.*\}})\n"
    )

    def moved(m: re.Match[str]) -> str:
        return f"{m['indent']}- name: {column}\n{m['body']}{m['indent']}  meta: {m['meta']}\n"

    new, count = pattern.subn(moved, text, count=1)
    assert count == 1, f"no `config: meta:` under column {column} in {path}"
    path.write_text(new, encoding="utf-8")


def test_project_has_no_dbt_deprecations(tmp_path: Path) -> None:
    result = run_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 dbt deprecation finding(s)" in result.stdout
    assert top_level_column_meta(config.DBT_PROJECT_DIR) == set()


@pytest.fixture
def project_with_old_meta(tmp_path: Path) -> Path:
    """A copy of the dbt project (and the semantic models it reads) with two column metas moved back."""
    root = tmp_path / "repo"
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages")
    shutil.copytree(config.DBT_PROJECT_DIR, root / "dbt_c360", ignore=ignore)
    shutil.copytree(config.REPO_ROOT / "semantic_models", root / "semantic_models")
    project = root / "dbt_c360"
    move_meta_out_of_config(project / "models" / "marts" / "_marts__models.yml", "email")
    move_meta_out_of_config(project / "models" / "staging" / "_staging__sources.yml", "mail")
    return project


def test_check_reports_column_meta_outside_config(project_with_old_meta: Path, tmp_path: Path) -> None:
    expected = top_level_column_meta(project_with_old_meta)
    assert len(expected) == 2
    result = run_check(tmp_path, project_with_old_meta)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = [FINDING.match(line) for line in result.stdout.splitlines() if "Deprecation" in line]
    assert all(findings), result.stdout
    assert {(m["file"], m["key_path"]) for m in findings if m} == expected
    assert len(findings) == len(expected)
    assert f"{len(expected)} dbt deprecation finding(s)" in result.stderr


def undescribed_columns(catalog: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """`<unique_id>.<column>` of every catalog column without a non-empty YAML description."""
    missing = []
    for kind in ("nodes", "sources"):
        for unique_id, entry in catalog[kind].items():
            if kind == "nodes" and unique_id.split(".")[0] not in DESCRIBED_TYPES:
                continue
            columns = {name.lower(): col for name, col in manifest[kind][unique_id]["columns"].items()}
            for name in entry["columns"]:
                if not (columns.get(name.lower(), {}).get("description") or "").strip():
                    missing.append(f"{unique_id}.{name}")
    return sorted(missing)


@pytest.fixture(scope="module")
def docs_artifacts(duckdb_warehouse_sample: Any, tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    """(catalog.json, manifest.json) of `dbt docs generate` on the built sample warehouse."""
    target_path = tmp_path_factory.mktemp("docs_target")
    run_dbt(["docs", "generate"], target="duckdb", target_path=target_path, env=duckdb_warehouse_sample.env)
    catalog = json.loads((target_path / "catalog.json").read_text(encoding="utf-8"))
    manifest = json.loads((target_path / "manifest.json").read_text(encoding="utf-8"))
    return catalog, manifest


def test_every_built_column_has_a_description(docs_artifacts: Artifacts) -> None:
    catalog, manifest = docs_artifacts
    # Ephemeral models (int_customer_segments) have no relation, so no catalog entry.
    enabled = {
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in DESCRIBED_TYPES and node["config"].get("materialized") != "ephemeral"
    }
    assert enabled <= set(catalog["nodes"]), sorted(enabled - set(catalog["nodes"]))
    # identity and recs_model are written by `make build`'s Python steps, absent after a plain dbt build
    optional = {uid for uid in manifest["sources"] if uid.split(".")[2] in ("identity", "recs_model")}
    assert set(manifest["sources"]) - optional == set(catalog["sources"]) - optional
    assert set(catalog["sources"]) <= set(manifest["sources"])
    assert sum(len(catalog["nodes"][uid]["columns"]) for uid in enabled) > 200
    missing = undescribed_columns(catalog, manifest)
    assert missing == [], f"{len(missing)} columns without a description:\n" + "\n".join(missing)


def test_description_check_lists_an_undescribed_column(docs_artifacts: Artifacts) -> None:
    catalog, manifest = docs_artifacts
    tampered = json.loads(json.dumps(manifest))
    tampered["nodes"]["model.c360.customers"]["columns"]["total_spend"]["description"] = " "
    del tampered["sources"]["source.c360.web.transactions"]["columns"]["amount"]
    assert undescribed_columns(catalog, tampered) == [
        "model.c360.customers.total_spend",
        "source.c360.web.transactions.amount",
    ]
