"""`make mf` with an unchanged project against bare `mf` on a fresh manifest (one bench stage).

The first `make mf` call after `dbt build` parses once (the build leaves no parse stamp); the
timed calls then find the project unchanged and run MetricFlow directly. Bare `mf` runs the
same query in a project directory whose `target` is the one just parsed. Nothing asserts a
time: the ratio goes into the report.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bench.report import Row
from bench.stages import StageResult, run_stage
from c360 import config
from c360.metrics import mf

RUNS = 3
QUERY = ["query", "--metrics", "total_spend", "--group-by", "metric_time__month"]


def _median(results: list[StageResult]) -> StageResult:
    """The run with the median wall time."""
    ordered = sorted(results, key=lambda r: r.seconds)
    return ordered[len(ordered) // 2]


def mf_cli_row(scale: int, target: str, env: dict[str, str]) -> Row:
    """Time `make mf ARGS="query ..."` (unchanged project) and bare `mf query`; one report row."""
    make = ["make", "--no-print-directory", "-s", "mf", f"ARGS={' '.join(QUERY)}"]
    run_stage("make mf (parses once)", make, env)
    wrapped = _median([run_stage("make mf", make, env) for _ in range(RUNS)])
    target_path = Path(env["DBT_TARGET_PATH"])
    with tempfile.TemporaryDirectory(prefix="c360_bench_mf_") as tmp:
        project = mf.shim_project(Path(tmp), target_path, config.DBT_PROJECT_DIR)
        bare_env = {**env, "DBT_PROJECT_DIR": str(project)}
        bare_cmd = [mf.console_script("mf"), *QUERY]
        bare = statistics.median(
            run_stage("bare mf", bare_cmd, bare_env, cwd=project).seconds for _ in range(RUNS)
        )
    return Row(
        "`make mf` query, unchanged project",
        scale,
        target,
        wrapped.seconds,
        "",
        wrapped.peak_mb,
        f"bare `mf query` {bare:.2f} s; make mf/bare {wrapped.seconds / bare:.2f}x",
    )
