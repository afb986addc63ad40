"""Run one benchmark stage in a child process and measure wall time and peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from c360 import config
from c360.config import REPO_ROOT
from c360.dbt_runner import dbt_executable


@dataclass(frozen=True)
class StageResult:
    """Wall time, peak resident memory of the child and its captured output."""

    name: str
    seconds: float
    peak_mb: float
    output: str


def run_stage(name: str, cmd: list[str], env: dict[str, str], cwd: Path = REPO_ROOT) -> StageResult:
    """Run `cmd` to completion; fail loudly with its output if it fails.

    Peak memory is the child's own `ru_maxrss` (from `os.wait4`), so stages measured
    in one run do not contaminate each other.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(output[-4000:])
        raise RuntimeError(f"benchmark stage {name!r} failed with exit code {proc.returncode}")
    return StageResult(name=name, seconds=seconds, peak_mb=usage.ru_maxrss / 1024, output=output)


def python_stage(name: str, code: str, env: dict[str, str]) -> StageResult:
    """Run a snippet of Python in the project's interpreter as one stage."""
    return run_stage(name, [sys.executable, "-c", code], env)


def stage_env(target: str, workdir: Path, pg_db: str) -> dict[str, str]:
    """Environment pointing dbt, the loader and the app at one scratch warehouse in `workdir`."""
    env = config.dbt_env()
    env.update(
        DBT_TARGET=target,
        C360_DUCKDB_PATH=str(workdir / "c360.duckdb"),
        DBT_TARGET_PATH=str(workdir / f"target_{target}"),
        C360_PG_DB=pg_db,
    )
    return env


def dbt_command(args: list[str]) -> list[str]:
    """`dbt <args>` on the project, with its profiles."""
    project = str(config.DBT_PROJECT_DIR)
    return [dbt_executable(), *args, "--project-dir", project, "--profiles-dir", project]
