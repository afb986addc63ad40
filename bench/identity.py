"""The identity step in `make bench`: matching time on the bench warehouse, pairwise precision
and recall against the generator manifest's truth, and its share of the full build."""

from __future__ import annotations

from pathlib import Path

# the realistic share of people registered twice (the generator's default rate is 0)
ALIAS_RATE = "0.02"


def identity_code(target: str, manifest: Path) -> str:
    """Python run as a bench stage: the identity step on `target` (as `make build` runs it, but
    into the schema `identity` itself), then one line `seconds precision recall people`."""
    if target == "duckdb":
        step = "r = step.run_duckdb(Path(os.environ['C360_DUCKDB_PATH']), t, f)"
    else:
        step = "r = step.run_postgres(config.pg_settings().dsn(), step.SCHEMA, t, f)"
    return (
        "import json, os\n"
        "from pathlib import Path\n"
        "from c360 import config\n"
        "from c360.identity import step\n"
        "from c360.identity.scoring import cluster_pairs, precision_recall, truth_pairs\n"
        "t, f = config.identity_thresholds()\n"
        f"{step}\n"
        f"truth = truth_pairs(json.loads(Path({str(manifest)!r}).read_text()))\n"
        "p, rc = precision_recall(cluster_pairs(r.clusters), truth)\n"
        "print(f\"{r.seconds:.3f} {p:.4f} {rc:.4f} {r.clusters['person_id'].nunique()}\")\n"
    )


def parse_identity_output(output: str) -> tuple[float, float, float, int]:
    """(matching seconds, precision, recall, people) from the stage's last line."""
    seconds, precision, recall, people = output.strip().splitlines()[-1].split()
    return float(seconds), float(precision), float(recall), int(people)
