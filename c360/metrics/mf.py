"""`make mf ARGS=...`: the MetricFlow CLI on the engine chosen by `DBT_TARGET`.

`mf` has no `--target` and reads `<project>/target/semantic_manifest.json`, which embeds
the database and schemas of the target that wrote it. So this wrapper

1. runs `dbt parse` for the current target (writing `$DBT_TARGET_PATH/semantic_manifest.json`)
   unless the project is unchanged since its last parse into that directory: a hash of every
   input of the parse (project files, semantic YAML, macros, `dbt_project.yml` and its vars,
   the profile, the target and the environment variables the profile and project read) is kept
   beside the manifest in `c360_mf_parse.json`, with the hash of the manifest it produced;
   when both still match, the manifest is used as it is (`make mf` then costs what bare `mf`
   costs),
2. runs `mf <args>` with cwd = the dbt project and the environment of `c360.config.dbt_env()`.

When `DBT_TARGET_PATH` is not the project's own `target/` (tests, parallel work), `mf` would
still read `dbt_c360/target/`; the wrapper then runs it in a throw-away project directory
whose entries are symlinks to `dbt_c360/` and whose `target` points at `DBT_TARGET_PATH`.

    python -m c360.metrics.mf validate-configs
    python -m c360.metrics.mf query --metrics total_spend --group-by metric_time__month,transaction__category
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from c360 import config

MF_TARGETS = ("duckdb", "postgres")
_SKIP_IN_SHIM = {"target", "logs", "dbt_packages", ".user.yml"}
PARSE_STAMP = "c360_mf_parse.json"
# Inputs of `dbt parse` besides the files: which profile target, where the profile is, dbt's own flags.
_PARSE_ENV = ("DBT_TARGET", "DBT_PROFILES_DIR")
_ENV_VAR_CALL = re.compile(r"""env_var\(\s*['"]([A-Za-z0-9_]+)['"]""")
# Secrets never change a parse's output; they stay out of the stamp.
_SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET", re.IGNORECASE)


def console_script(name: str) -> str:
    """The console script `name` of the running interpreter's environment."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def _parse_files(project_dir: Path, profiles_dir: Path) -> list[Path]:
    """Every file `dbt parse` reads: the project (its `..` model paths included) and the profile."""
    roots = [project_dir, *(project_dir.parent / name for name in _sibling_model_paths(project_dir))]
    files: list[Path] = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root).parts
            if path.is_file() and not (root == project_dir and relative[0] in _SKIP_IN_SHIM):
                files.append(path)
    files.append(profiles_dir / "profiles.yml")
    return files


def _sibling_model_paths(project_dir: Path) -> list[str]:
    """Directories beside the project that `dbt_project.yml` reads (`../semantic_models`)."""
    text = (project_dir / "dbt_project.yml").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"""['"]\.\./([A-Za-z0-9_./-]+?)/?['"]""", text)))


def parse_inputs_hash(env: dict[str, str], project_dir: Path) -> str:
    """sha256 of everything that changes `dbt parse`'s output for `env` (files, target, env vars)."""
    digest = hashlib.sha256()
    referenced: set[str] = set(_PARSE_ENV)
    for path in _parse_files(project_dir, Path(env["DBT_PROFILES_DIR"])):
        content = path.read_bytes() if path.exists() else b"<missing>"
        digest.update(f"{path.relative_to(path.anchor)}\0{len(content)}\0".encode())
        digest.update(content)
        referenced.update(_ENV_VAR_CALL.findall(content.decode("utf-8", errors="replace")))
    for name in sorted(referenced):
        if not _SECRET_NAME.search(name):
            digest.update(f"{name}={env.get(name, '<unset>')}\0".encode())
    digest.update(_dbt_version().encode())
    return digest.hexdigest()


def _dbt_version() -> str:
    """The installed dbt-core and MetricFlow versions (a new version may parse differently)."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("dbt-core", "dbt-metricflow", "metricflow"):
        try:
            found.append(f"{package}={version(package)}")
        except PackageNotFoundError:
            found.append(f"{package}=-")
    return ";".join(found)


def _file_hash(path: Path) -> str | None:
    """sha256 of a file's bytes, None when it does not exist."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def manifest_is_current(target_path: Path, inputs_hash: str) -> bool:
    """True when the stamp in `target_path` names these inputs and the manifest they produced.

    The manifest's own hash is part of the stamp, so a `dbt build` or `dbt parse` for another
    target into the same directory (which rewrites the manifest, not the stamp) forces a parse.
    """
    stamp_path = target_path / PARSE_STAMP
    manifest = target_path / "semantic_manifest.json"
    if not stamp_path.exists() or not manifest.exists():
        return False
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stamp.get("inputs") == inputs_hash and stamp.get("manifest") == _file_hash(manifest)


def _write_stamp(target_path: Path, inputs_hash: str) -> None:
    """Record which inputs produced the manifest now in `target_path`."""
    stamp = {"inputs": inputs_hash, "manifest": _file_hash(target_path / "semantic_manifest.json")}
    (target_path / PARSE_STAMP).write_text(json.dumps(stamp), encoding="utf-8")


def parse_if_changed(env: dict[str, str], target_path: Path, project_dir: Path) -> bool:
    """`dbt parse` of `project_dir` into `target_path` unless its manifest is current; True when it parsed."""
    inputs = parse_inputs_hash(env, project_dir)
    if manifest_is_current(target_path, inputs):
        return False
    (target_path / PARSE_STAMP).unlink(missing_ok=True)
    parse(env, project_dir)
    _write_stamp(target_path, inputs)
    return True


def parse(env: dict[str, str], project_dir: Path = config.DBT_PROJECT_DIR) -> None:
    """`dbt parse` for the environment's target so the semantic manifest matches it."""
    command = [
        console_script("dbt"),
        "parse",
        "--quiet",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        env["DBT_PROFILES_DIR"],
    ]
    result = subprocess.run(command, env=env, cwd=project_dir, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed (exit {result.returncode}) for DBT_TARGET={env['DBT_TARGET']}")


def shim_project(root: Path, target_path: Path, project_dir: Path) -> Path:
    """A project dir under `root` mirroring `project_dir` by symlinks, with `target` -> target_path."""
    project = root / project_dir.name
    project.mkdir()
    for entry in project_dir.iterdir():
        if entry.name not in _SKIP_IN_SHIM:
            (project / entry.name).symlink_to(entry)
    (project / "target").symlink_to(target_path, target_is_directory=True)
    # model-paths may point outside the project (../semantic_models): mirror the siblings too.
    for sibling in project_dir.parent.iterdir():
        if sibling.is_dir() and sibling.name != project.name and not (root / sibling.name).exists():
            (root / sibling.name).symlink_to(sibling, target_is_directory=True)
    return project


def run(args: Sequence[str], *, skip_parse: bool = False, project_dir: Path = config.DBT_PROJECT_DIR) -> int:
    """Parse for the current target when the project changed, then run `mf args`; mf's exit code.

    `project_dir` is the dbt project (default `dbt_c360/`; tests pass a copy).
    """
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
        parse_if_changed(env, target_path, project_dir)
    mf = [console_script("mf"), *args]
    default_target = (project_dir / "target").resolve()
    if target_path.resolve() == default_target:
        env["DBT_PROJECT_DIR"] = str(project_dir)
        return subprocess.run(mf, env=env, cwd=project_dir, check=False).returncode
    with tempfile.TemporaryDirectory(prefix="c360_mf_") as tmp:
        project = shim_project(Path(tmp), target_path, project_dir)
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
