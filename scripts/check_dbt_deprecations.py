"""Fail when `dbt parse` raises any deprecation, with dbt's JSON-schema checks forced on.

dbt-core 1.11 validates YAML files against its JSON schemas (the source of e.g.
`PropertyMovedToConfigDeprecation`: column `meta` outside `config`) only when every adapter
of the invocation is in `dbt.jsonschemas.jsonschemas._JSONSCHEMA_SUPPORTED_ADAPTERS`
(bigquery, databricks, redshift, snowflake); on duckdb/postgres the checks silently never
run. This script runs `dbt parse` in-process (dbtRunner) with that allow-list patched to
include the project's adapter, `--show-all-deprecations` (else dbt shows each kind once)
and no partial parse (else unchanged files are not re-validated), collects every
deprecation event and prints one line per finding. Exit status: 0 clean, 1 findings, 2 dbt
parse failed or no YAML was validated at all (the forcing broke, e.g. after a dbt upgrade).

    .venv/bin/python scripts/check_dbt_deprecations.py [--project-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROJECT_DIR = REPO_ROOT / "dbt_c360"
# Adapters the checks are forced on for (the project's engines); a superset of the profile's types.
FORCED_ADAPTERS = frozenset({"duckdb", "postgres", "spark"})
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def finding_line(name: str, file: str, key_path: str, message: str) -> str:
    """One line for a deprecation event: `<file>: <key_path>: <EventName>: <explanation>`.

    The explanation is dbt's message without its `[WARNING][Name]: Deprecated functionality`
    header line, colour codes and line breaks.
    """
    lines = ANSI.sub("", message).strip().splitlines()
    explanation = " ".join(line.strip() for line in (lines[1:] or lines)) or name
    where = "".join(f"{part}: " for part in (file, key_path) if part)
    return f"{where}{name}: {explanation}"


@dataclass
class ParseOutcome:
    """What one forced-check `dbt parse` produced."""

    findings: list[str] = field(default_factory=list)
    validated_documents: int = 0
    error: str | None = None


def collect_deprecations(project_dir: Path, profiles_dir: Path) -> ParseOutcome:
    """Run `dbt parse` on `project_dir` with the JSON-schema checks forced on.

    Returns one line per deprecation event, how many YAML documents dbt validated against its
    JSON schemas (0 means the forcing no longer works) and dbt's error if parse failed.
    Artifacts go to a temporary target path: the project's target/ and partial-parse state
    are untouched. Patching a name dbt no longer has raises AttributeError (fails loudly).
    """
    from dbt.cli.main import dbtRunner
    from dbt.jsonschemas import jsonschemas

    outcome = ParseOutcome()
    validate = jsonschemas._validate_with_schema

    def on_event(event: Any) -> None:
        name = event.info.name
        if name.endswith("Deprecation"):
            file = str(getattr(event.data, "file", "") or "")
            key_path = str(getattr(event.data, "key_path", "") or "")
            outcome.findings.append(finding_line(name, file, key_path, event.info.msg))

    def counted_validate(schema: dict[str, Any], document: dict[str, Any]) -> Any:
        outcome.validated_documents += 1
        return validate(schema, document)

    allowed = jsonschemas._JSONSCHEMA_SUPPORTED_ADAPTERS | FORCED_ADAPTERS
    with (
        tempfile.TemporaryDirectory(prefix="dbt_deprecations_") as target_path,
        mock.patch.object(jsonschemas, "_JSONSCHEMA_SUPPORTED_ADAPTERS", allowed),
        mock.patch.object(jsonschemas, "_validate_with_schema", counted_validate),
    ):
        args = [
            "parse",
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(profiles_dir),
            "--target-path",
            target_path,
            "--no-partial-parse",
            "--show-all-deprecations",
            "--quiet",
        ]
        result = dbtRunner(callbacks=[on_event]).invoke(args)
    if not result.success:
        outcome.error = str(result.exception or "dbt parse failed (no exception reported)")
    return outcome


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project-dir", type=Path, default=DEFAULT_PROJECT_DIR)
    parser.add_argument(
        "--profiles-dir",
        type=Path,
        default=DEFAULT_PROJECT_DIR,
        help="default: the repo's dbt_c360 (its profile reads DBT_TARGET)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DBT_TARGET", "duckdb")
    outcome = collect_deprecations(args.project_dir.resolve(), args.profiles_dir.resolve())
    for line in outcome.findings:
        print(line)
    if outcome.error is not None:
        print(f"dbt parse FAILED: {outcome.error}", file=sys.stderr)
        return 2
    if outcome.validated_documents == 0:
        print("dbt ran no JSON-schema validation: the forced check no longer works", file=sys.stderr)
        return 2
    findings = len(outcome.findings)
    summary = (
        f"{findings} dbt deprecation finding(s) in {outcome.validated_documents} validated YAML documents"
    )
    print(summary, file=sys.stderr if findings else sys.stdout)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
