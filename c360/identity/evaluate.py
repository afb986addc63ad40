"""Precision and recall of a run's clusters against the generator's truth, when it is known.

The identity step calls `scoring_row` with the raw contacts it read and the generator manifest
(`config.generator_manifest()`); the row goes to `identity.scoring` for the Data quality page.
The manifest is trusted only when it describes the loaded file: its contacts row count equals
the rows of `salesforce.contacts` and every id of its truth pairs is among them. Otherwise (own
data, or a manifest of another generation) the truth is unknown and the row says why.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from c360.identity.scoring import cluster_pairs, precision_recall, truth_pairs

SCORING_COLUMNS = {
    "status": "varchar", "manifest_file": "varchar", "threshold": "double", "review_floor": "double",
    "truth_pairs": "bigint", "found_pairs": "bigint", "correct_pairs": "bigint",
    "precision": "double", "recall": "double",
}  # fmt: skip
SCORED = "scored"


def _manifest(path: Path | None) -> tuple[dict | None, str]:
    """The manifest at `path` and '', or None and why it cannot be used."""
    if path is None or not path.is_file():
        return None, "no generator manifest: the truth is unknown (own data)"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        int(manifest["files"]["contacts"]["rows"])
        truth_pairs(manifest)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, f"{path.name} is not a generator manifest: the truth is unknown"
    return manifest, ""


def scoring_row(
    con: duckdb.DuckDBPyConnection,
    clusters: pd.DataFrame,
    manifest_path: Path | None,
    threshold: float,
    review_floor: float,
) -> pd.DataFrame:
    """One row (`SCORING_COLUMNS`): the pairwise scores of `clusters` against the manifest's truth
    pairs, or null scores and the reason in `status` when the manifest does not describe the
    relation `raw_contacts` of `con`."""
    row: dict[str, object] = dict.fromkeys(SCORING_COLUMNS)
    row.update(threshold=threshold, review_floor=review_floor)
    manifest, why = _manifest(manifest_path)
    if manifest is not None:
        row["manifest_file"] = str(manifest_path)
        rows = con.execute("select count(*) from raw_contacts").fetchall()[0][0]
        ids = {r[0] for r in con.execute("select distinct trim(id) from raw_contacts").fetchall()}
        truth = truth_pairs(manifest)
        if int(manifest["files"]["contacts"]["rows"]) != rows or not {i for p in truth for i in p} <= ids:
            why = "the generator manifest does not describe the loaded contacts: the truth is unknown"
        else:
            found = cluster_pairs(clusters[clusters["cluster_size"] > 1])
            precision, recall = precision_recall(found, truth)
            row.update(
                status=SCORED, truth_pairs=len(truth), found_pairs=len(found),
                correct_pairs=len(found & truth), precision=precision, recall=recall,
            )  # fmt: skip
    if row["status"] is None:
        row["status"] = why
    return pd.DataFrame([row], columns=list(SCORING_COLUMNS))
