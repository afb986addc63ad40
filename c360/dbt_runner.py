"""Run dbt as a subprocess with the project's environment.

Every caller (make build, tests, other tools) goes through `run_dbt`, so dbt always sees
`--project-dir dbt_c360 --profiles-dir dbt_c360` and the absolute paths of `c360.config.dbt_env()`.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from c360 import config


class DbtError(RuntimeError):
    """dbt exited with a non-zero status; the message holds the command and its output tail."""


def dbt_executable() -> str:
    """The dbt executable next to the running Python (the project's venv)."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(
    args: list[str],
    target: str | None = None,
    target_path: Path | None = None,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args>` on the project and return the completed process (text output captured).

    target: a profile target (`duckdb`, `postgres`, `spark`, `prod`...); default DBT_TARGET.
    target_path: the artifacts directory (DBT_TARGET_PATH); default from the environment.
    check: raise DbtError when dbt exits non-zero.
    env: extra environment variables for this call only (e.g. an isolated C360_DUCKDB_PATH);
        they are applied before `c360.config.dbt_env()` resolves the paths.
    """
    base = config.dbt_env() if env is None else _env_with(env)
    if target_path is not None:
        base["DBT_TARGET_PATH"] = str(Path(target_path).resolve())
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(config.DBT_PROJECT_DIR),
        "--profiles-dir",
        str(config.DBT_PROJECT_DIR),
    ]
    if target is not None:
        command += ["--target", target]
    result = subprocess.run(
        command, env=base, cwd=config.DBT_PROJECT_DIR, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-60:])
        raise DbtError(f"dbt {' '.join(args)} failed with exit code {result.returncode}:\n{tail}")
    return result


def _env_with(overrides: Mapping[str, str]) -> dict[str, str]:
    """`config.dbt_env()` with `overrides` applied (paths made absolute), os.environ untouched."""
    env = {**config.dbt_env(), **overrides}
    for key in ("C360_DUCKDB_PATH", "C360_SPARK_DIR", "DBT_TARGET_PATH"):
        if key in overrides and not Path(env[key]).is_absolute():
            env[key] = str(config.REPO_ROOT / env[key])
    return env
