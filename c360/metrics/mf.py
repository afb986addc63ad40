"""`make mf ARGS=...`: the MetricFlow CLI on the engine chosen by `DBT_TARGET`.

`mf` has no `--target` and reads `<project>/target/semantic_manifest.json`, which embeds
the database and schemas of the target that wrote it. So this wrapper

1. runs `dbt parse` for the current target (writing `$DBT_TARGET_PATH/semantic_manifest.json`),
2. runs `mf <args>` with cwd = the dbt project and the environment of `c360.config.dbt_env()`.

When `DBT_TARGET_PATH` is not the project's own `target/` (tests, parallel work), `mf` would
still read `dbt_c360/target/`; the wrapper then runs it in a throw-away project directory
whose entries are symlinks to `dbt_c360/` and whose `target` points at `DBT_TARGET_PATH`.

    python -m c360.metrics.mf validate-configs
    python -m c360.metrics.mf query --metrics total_spend --group-by metric_time__month,transaction__category
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from c360 import config

MF_TARGETS = ("duckdb", "postgres")
_SKIP_IN_SHIM = {"target", "logs", "dbt_packages", ".user.yml"}


def _bin(name: str) -> str:
    """The console script `name` of the running interpreter's environment."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def parse(env: dict[str, str]) -> None:
    """`dbt parse` for the environment's target so the semantic manifest matches it."""
    command = [
        _bin("dbt"),
        "parse",
        "--quiet",
        "--project-dir",
        str(config.DBT_PROJECT_DIR),
        "--profiles-dir",
        env["DBT_PROFILES_DIR"],
    ]
    result = subprocess.run(command, env=env, cwd=config.DBT_PROJECT_DIR, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed (exit {result.returncode}) for DBT_TARGET={env['DBT_TARGET']}")


def _shim_project(root: Path, target_path: Path) -> Path:
    """A project dir under `root` mirroring dbt_c360 by symlinks, with `target` -> target_path."""
    project = root / config.DBT_PROJECT_DIR.name
    project.mkdir()
    for entry in config.DBT_PROJECT_DIR.iterdir():
        if entry.name not in _SKIP_IN_SHIM:
            (project / entry.name).symlink_to(entry)
    (project / "target").symlink_to(target_path, target_is_directory=True)
    # model-paths may point outside the project (../semantic_models): mirror the siblings too.
    for sibling in config.REPO_ROOT.iterdir():
        if sibling.is_dir() and sibling.name != project.name and not (root / sibling.name).exists():
            (root / sibling.name).symlink_to(sibling, target_is_directory=True)
    return project


def run(args: Sequence[str], *, skip_parse: bool = False) -> int:
    """Parse for the current target, then run `mf args`; returns mf's exit code."""
    engine = config.target()
    if engine not in MF_TARGETS:
        print(
            f"MetricFlow has no adapter for DBT_TARGET={engine}; use one of {', '.join(MF_TARGETS)}.",
            file=sys.stderr,
        )
        return 2
    env = config.dbt_env()
    target_path = config.dbt_target_path()
    target_path.mkdir(parents=True, exist_ok=True)
    env["DBT_TARGET_PATH"] = str(target_path)
    if not skip_parse:
        parse(env)
    mf = [_bin("mf"), *args]
    default_target = (config.DBT_PROJECT_DIR / "target").resolve()
    if target_path.resolve() == default_target:
        env["DBT_PROJECT_DIR"] = str(config.DBT_PROJECT_DIR)
        return subprocess.run(mf, env=env, cwd=config.DBT_PROJECT_DIR, check=False).returncode
    with tempfile.TemporaryDirectory(prefix="c360_mf_") as tmp:
        project = _shim_project(Path(tmp), target_path)
        env["DBT_PROJECT_DIR"] = str(project)
        return subprocess.run(mf, env=env, cwd=project, check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m c360.metrics.mf`; `C360_MF_SKIP_PARSE=1` reuses the current manifest."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = ["--help"]
    try:
        return run(args, skip_parse=os.environ.get("C360_MF_SKIP_PARSE") == "1")
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
