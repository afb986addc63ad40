"""The partner-key salt: resolution order, persistence, validation, fingerprint."""

from __future__ import annotations

import hashlib
import re
import stat
from pathlib import Path

import pytest

from c360.share.salt import SALT_ENV, SaltError, fingerprint, resolve_salt

GOOD = "a-good_salt.value+0123/=="


def test_env_salt_wins_and_no_file_is_written(tmp_path: Path) -> None:
    salt_file = tmp_path / "salt"
    salt_file.write_text("file_salt_value_1234567\n")
    salt = resolve_salt(salt_file, environ={SALT_ENV: GOOD})
    assert (salt.value, salt.source) == (GOOD, "env")
    assert salt_file.read_text() == "file_salt_value_1234567\n"


def test_generated_once_then_reused_from_file(tmp_path: Path) -> None:
    salt_file = tmp_path / "salt"
    first = resolve_salt(salt_file, environ={})
    assert first.source == "generated"
    assert len(first.value) == 64 and int(first.value, 16) >= 0
    assert salt_file.read_text().strip() == first.value
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    second = resolve_salt(salt_file, environ={SALT_ENV: "  "})
    assert (second.value, second.source) == (first.value, "file")
    assert resolve_salt(tmp_path / "other", environ={}).value != first.value


def test_fingerprint_is_first_12_hex_of_sha256_and_repr_hides_the_salt(tmp_path: Path) -> None:
    salt = resolve_salt(tmp_path / "salt", environ={SALT_ENV: GOOD})
    expected = hashlib.sha256(GOOD.encode("utf-8")).hexdigest()[:12]
    assert salt.fingerprint == fingerprint(GOOD) == expected
    assert GOOD not in repr(salt) and expected in repr(salt)


UNSAFE = ["short", "has'quote_in_it_123", "back\\slash_value_1234", "x" * 257, "é" * 20]


@pytest.mark.parametrize("bad", UNSAFE)
def test_unsafe_salts_are_rejected_naming_their_origin(tmp_path: Path, bad: str) -> None:
    with pytest.raises(SaltError, match=SALT_ENV):
        resolve_salt(tmp_path / "salt", environ={SALT_ENV: bad})
    salt_file = tmp_path / "salt"
    salt_file.write_text(bad)
    with pytest.raises(SaltError, match=re.escape(str(salt_file))):
        resolve_salt(salt_file, environ={})
