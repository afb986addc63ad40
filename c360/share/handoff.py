"""Hand the salt to one dbt run without rendering it into SQL, artifacts, logs or the command line.

dbt gets only `--vars {share_build, share_salt_file, k_anonymity}`. The model SQL reads the salt
at run time (`macros/share/share_salt_sql.sql`):

- DuckDB and Spark read a temporary salt file (mode 0600 in a 0700 directory `secret/` of the
  private build directory, deleted when the run ends) whose path is `share_salt_file`; the path
  is the same on every run of one build directory, so the vars do not change between runs and
  dbt parses partially (a fresh random path made every `make share` a full parse);
- Postgres reads the session setting `c360.share_salt`, which libpq sends at connect from
  `PGOPTIONS` in dbt's environment (the server cannot read a client file).

The share build's artifacts and logs go to a private (0700) `share_build/` directory.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from c360.share.salt import Salt

POSTGRES_TARGETS = ("postgres", "prod")
SALT_SETTING = "c360.share_salt"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


@dataclass(frozen=True)
class Handoff:
    """What one share build passes to dbt: its `--vars` and extra environment variables."""

    vars_json: str
    env: dict[str, str]


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) if needed and make it 0700; return it."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make an existing file 0600; return it."""
    path.chmod(PRIVATE_FILE_MODE)
    return path


def _pg_options(existing: str, salt: Salt) -> str:
    """`PGOPTIONS` with the salt setting appended (the salt's alphabet needs no escaping there)."""
    return f"{existing} -c {SALT_SETTING}={salt.value}".strip()


@contextmanager
def salt_handoff(
    salt: Salt, k: int, target: str, env: Mapping[str, str], build_dir: Path
) -> Iterator[Handoff]:
    """The vars and environment for one `dbt build --select share`; the salt file is gone afterwards.

    target: the dbt target (`postgres`/`prod` use the session setting, others the salt file).
    env: the environment dbt will inherit (its PGOPTIONS is extended, not replaced).
    build_dir: the private directory of the share build; dbt writes its logs to `logs/` and the
        salt file lives in `secret/` for the run.
    """
    log_dir = build_dir / "logs"
    secret_dir = build_dir / "secret"
    shutil.rmtree(secret_dir, ignore_errors=True)  # left by a killed run
    private_dir(secret_dir)
    try:
        extra = {"DBT_LOG_PATH": str(private_dir(log_dir))}
        run_vars: dict[str, object] = {"share_build": True, "k_anonymity": k}
        if target in POSTGRES_TARGETS:
            extra["PGOPTIONS"] = _pg_options(env.get("PGOPTIONS", ""), salt)
        else:
            salt_file = secret_dir / "salt"
            fd = os.open(salt_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(salt.value)
            run_vars["share_salt_file"] = str(salt_file.resolve())
        yield Handoff(json.dumps(run_vars), extra)
    finally:
        shutil.rmtree(secret_dir, ignore_errors=True)
