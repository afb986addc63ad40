"""The salt of the partner keys (`partner_key = sha256(salt || customer_id)`).

Resolution order: env `C360_SHARE_SALT`; else the git-ignored file `.c360_share_salt` at the
repo root; else a new random salt is created once in that file (mode 0600) and reused by every
later run, so keys stay stable across deliveries. The salt itself is never printed or exported:
deliveries carry only its fingerprint (first 12 hex characters of its SHA-256).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from c360 import config

SALT_ENV = "C360_SHARE_SALT"
SALT_FILE_NAME = ".c360_share_salt"
SALT_PATTERN = re.compile(r"[A-Za-z0-9_.+/=-]{16,256}")


class SaltError(ValueError):
    """The configured salt is unusable; the message says where it came from and why."""


@dataclass(frozen=True)
class Salt:
    """A resolved salt and where it came from (`env`, `file` or `generated`)."""

    value: str
    source: str
    path: Path | None = None

    @property
    def fingerprint(self) -> str:
        """First 12 hex characters of SHA-256(salt): identifies the salt without revealing it."""
        return fingerprint(self.value)

    def __repr__(self) -> str:
        """Never show the value itself (tracebacks and logs print reprs)."""
        return f"Salt(source={self.source!r}, fingerprint={self.fingerprint!r}, path={self.path!r})"


def fingerprint(salt: str) -> str:
    """First 12 hex characters of the SHA-256 of the salt's UTF-8 bytes."""
    return hashlib.sha256(salt.encode("utf-8")).hexdigest()[:12]


def default_salt_file() -> Path:
    """The git-ignored salt file at the repo root."""
    return config.REPO_ROOT / SALT_FILE_NAME


def validate(value: str, where: str) -> str:
    """Return the salt if it is 16-256 characters of `A-Za-z0-9_.+/=-`, else raise SaltError naming `where`.

    The restricted alphabet needs no escaping in `PGOPTIONS` (how Postgres sessions get it) nor
    in the temporary salt file the other engines read (`c360.share.handoff`).
    """
    if not SALT_PATTERN.fullmatch(value):
        raise SaltError(
            f"{where}: the share salt must be 16-256 characters of letters, digits and _ . + / = - "
            f"(got {len(value)} characters)"
        )
    return value


def partner_key(salt: str, customer_id: object) -> str:
    """The documented partner key: lower-case hex SHA-256 of the UTF-8 text salt || customer_id.

    The same string the share models compute in SQL (`share_partner_key`), so a key in an app
    export joins the partner deliveries made with the same salt.
    """
    return hashlib.sha256(f"{salt}{customer_id}".encode()).hexdigest()


def configured_salt(salt_file: Path | None = None, environ: dict[str, str] | None = None) -> Salt | None:
    """The salt from the environment, else from `salt_file`; None when neither is set (never creates one).

    salt_file: default `.c360_share_salt` at the repo root (tests pass a temporary path).
    environ: default `os.environ`.
    """
    env = os.environ if environ is None else environ
    path = Path(salt_file) if salt_file is not None else default_salt_file()
    from_env = env.get(SALT_ENV, "").strip()
    if from_env:
        return Salt(validate(from_env, f"environment variable {SALT_ENV}"), "env")
    if path.exists():
        return Salt(validate(path.read_text(encoding="utf-8").strip(), str(path)), "file", path)
    return None


NO_SALT_HINT = (
    "No share salt is configured, so the export has no partner key to carry: set C360_SHARE_SALT "
    "or run `make share` once (it creates .c360_share_salt), then export again."
)


def required_salt(salt_file: Path | None = None, environ: dict[str, str] | None = None) -> Salt:
    """The configured salt (as `configured_salt`); SaltError saying what to run when there is none.

    For exports that carry the partner key: an unsalted hash of an id is reversible by hashing
    every candidate id, so without a salt nothing is exported, and exporting never creates one.
    """
    found = configured_salt(salt_file, environ)
    if found is None:
        raise SaltError(NO_SALT_HINT)
    return found


def resolve_salt(salt_file: Path | None = None, environ: dict[str, str] | None = None) -> Salt:
    """The salt from the environment, else from `salt_file`, else a new one written to `salt_file`.

    salt_file: default `.c360_share_salt` at the repo root (tests pass a temporary path).
    environ: default `os.environ`.
    """
    path = Path(salt_file) if salt_file is not None else default_salt_file()
    found = configured_salt(path, environ)
    if found is not None:
        return found
    value = secrets.token_hex(32)
    try:
        # O_EXCL: if another process created the file meanwhile, use its salt instead of ours.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Salt(validate(path.read_text(encoding="utf-8").strip(), str(path)), "file", path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return Salt(value, "generated", path)
