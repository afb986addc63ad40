"""`python -m data_gen`: help, exit codes, the one summary line, lazy generator import."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import data_gen.generate
from c360 import config
from data_gen.cli import main


def run_cli(args: list[str], duckdb_file: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a child process against a private DuckDB file."""
    env = {**os.environ, "C360_DUCKDB_PATH": str(duckdb_file), "DBT_TARGET": "duckdb"}
    return subprocess.run(
        [sys.executable, "-m", "data_gen", *args],
        cwd=config.REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_help_lists_commands_and_every_load_option(tmp_path: Path) -> None:
    top = run_cli(["--help"], tmp_path / "x.duckdb")
    assert top.returncode == 0
    assert "generate" in top.stdout and "load" in top.stdout
    sub = run_cli(["load", "--help"], tmp_path / "x.duckdb")
    assert sub.returncode == 0
    for option in ("--target", "--dir", "--contacts", "--transactions", "--quiet"):
        assert re.search(rf"^\s+{option}\b.*\n?\s+\S", sub.stdout, re.MULTILINE), option
    assert "Exit code" in sub.stdout


def test_good_load_prints_one_summary_line(tmp_path: Path) -> None:
    db = tmp_path / "c360.duckdb"
    done = run_cli(["load", "--target", "duckdb", "--dir", str(config.sample_dir())], db)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(
        rf"loaded salesforce\.contacts=11 rows, web\.transactions=102 rows in [0-9.]+s "
        rf"into duckdb {re.escape(str(db))}",
        lines[0],
    ), lines[0]
    assert "contacts.csv: 11 rows" in done.stderr  # progress goes to stderr
    with duckdb.connect(str(db), read_only=True) as con:
        counts = [con.execute(f"select count(*) from {t}").fetchone()[0]
                  for t in ("salesforce.contacts", "web.transactions")]
    assert counts == [11, 102]


def test_bad_load_exits_1_names_the_file_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "c360.duckdb"
    sample = config.sample_dir()
    assert run_cli(["load", "--dir", str(sample), "--quiet"], db).returncode == 0
    bad = tmp_path / "transactions.csv"
    bad.write_text((sample / "transactions.csv").read_text() + "only,three,fields\n")
    done = run_cli(["load", "--contacts", str(sample / "contacts.csv"), "--transactions", str(bad)], db)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "transactions.csv: line 104 (data row 103) has 3 fields" in done.stderr
    assert "Traceback" not in done.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from web.transactions").fetchone() == (102,)


@pytest.mark.parametrize(
    "args",
    [
        ["load", "--dir", "x", "--contacts", "y"],
        ["load", "--contacts", "only_one.csv"],
        ["load", "--target", "oracle", "--dir", "x"],
        [],
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    done = run_cli(args, tmp_path / "x.duckdb")
    assert done.returncode == 2
    assert "usage:" in done.stderr


def test_dir_with_missing_file_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "contacts.csv").write_text("id\n1\n")
    done = run_cli(["load", "--dir", str(tmp_path / "raw")], tmp_path / "x.duckdb")
    assert done.returncode == 1
    assert "neither transactions.csv nor transactions.parquet exists" in done.stderr


def test_load_works_without_the_generator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "data_gen.generate.generator", None)  # any import of it now fails
    # ...also when an earlier test already imported it (then it is an attribute of the package)
    monkeypatch.delattr(data_gen.generate, "generator", raising=False)
    monkeypatch.setenv("C360_DUCKDB_PATH", str(tmp_path / "c360.duckdb"))
    assert main(["load", "--target", "duckdb", "--dir", str(config.sample_dir()), "--quiet"]) == 0
    assert "salesforce.contacts=11 rows" in capsys.readouterr().out
    assert main(["generate", "--customers", "10"]) == 2
    assert "generator cannot be imported" in capsys.readouterr().err
