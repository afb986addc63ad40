"""The identity step of `make build`: raw contacts in, `identity.contact_clusters` and
`identity.contact_pairs` out, written into the warehouse the build writes (the DuckDB candidate
file, or the Postgres shadow schema `identity__next`); dbt reads them through the `identity`
source (models/staging/stg_identity__*).

On Postgres the raw rows are read into an in-memory DuckDB for Splink (one code path on both
engines) and the two tables are written back with COPY.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from c360 import config
from c360.identity.clusters import contact_clusters
from c360.identity.evaluate import SCORING_COLUMNS, scoring_row
from c360.identity.model import BIRTH_DAY_FIRST, BIRTH_EXACT, EMAIL_SAME_LOCAL, FIELDS, predict, top_levels
from c360.identity.normalise import RAW_COLUMNS, matching_input
from c360.identity.rules import deterministic_pairs

SCHEMA = "identity"
CLUSTER_COLUMNS = {
    "contact_id": "varchar", "person_id": "varchar", "cluster_size": "bigint", "match_probability": "double",
}  # fmt: skip
PAIR_COLUMNS = {
    "contact_id_l": "varchar", "contact_id_r": "varchar", "match_weight": "double",
    "match_probability": "double", "is_match": "boolean", "matched_by": "varchar",
    "agreeing_fields": "varchar", **{f"{f}_level": "integer" for f in FIELDS},
}  # fmt: skip


@dataclass(frozen=True)
class Resolution:
    """What one run found: the two output tables and counts for the build line."""

    clusters: pd.DataFrame
    pairs: pd.DataFrame
    seconds: float
    scoring: pd.DataFrame | None = None  # identity.scoring's row (c360/identity/evaluate.py)

    def summary(self) -> str:
        """One line: contacts, people, merged records, pairs by rule / model."""
        merged = int((self.clusters["cluster_size"] > 1).sum())
        people = self.clusters["person_id"].nunique()
        rule = int((self.pairs["matched_by"] == "email").sum())
        model = int((self.pairs["is_match"] & (self.pairs["matched_by"] == "model")).sum())
        line = (
            f"identity: {len(self.clusters):,} contacts -> {people:,} people ({merged:,} records in "
            f"merged people; {rule:,} email-rule + {model:,} model pairs) in {self.seconds:.1f} s"
        )
        if self.scoring is not None and self.scoring["status"].iloc[0] == "scored":
            score = self.scoring.iloc[0]
            line += f"; vs the generator's truth: precision {score['precision']:.4f}"
            line += f", recall {score['recall']:.4f}"
        return line


def resolve(con: duckdb.DuckDBPyConnection, threshold: float, review_floor: float) -> Resolution:
    """Cluster the relation `raw_contacts` of `con`: pairs with probability >= `threshold` or the
    same normalised email are matches; pairs from `review_floor` on are kept for review."""
    started = time.perf_counter()
    matching_input(con)
    ids = [row[0] for row in con.execute("select contact_id from matching_input order by 1").fetchall()]
    rule = pd.DataFrame(deterministic_pairs(con), columns=["contact_id_l", "contact_id_r"])
    scored = predict(con, min(review_floor, threshold)) if len(ids) > 1 else None
    scored = _empty_scored() if scored is None else scored
    # Splink's pair order is its own: put the smaller id left, like the rule's pairs
    swap = scored["contact_id_l"] > scored["contact_id_r"]
    ends = ["contact_id_l", "contact_id_r"]
    scored.loc[swap, ends] = scored.loc[swap, ends[::-1]].to_numpy()
    pairs = scored.merge(rule.assign(by_rule=True), on=["contact_id_l", "contact_id_r"], how="outer")
    pairs["by_rule"] = pairs["by_rule"].astype("boolean").fillna(False).astype(bool)
    pairs["matched_by"] = pairs["by_rule"].map({True: "email", False: "model"})
    pairs["is_match"] = pairs["by_rule"] | ((pairs["match_probability"] >= threshold) & _corroborated(pairs))
    by_rule = pairs["by_rule"]
    pairs.loc[by_rule, "match_probability"] = pairs.loc[by_rule, "match_probability"].fillna(1.0)
    top = top_levels()
    levels = pairs[[f"{f}_level" for f in FIELDS]].to_numpy()
    pairs["agreeing_fields"] = [
        None if pd.isna(row[0]) else ",".join(f for f, v in zip(FIELDS, row, strict=True) if v == top[f])
        for row in levels
    ]
    pairs = pairs[list(PAIR_COLUMNS)].sort_values(["contact_id_l", "contact_id_r"], ignore_index=True)
    clusters = contact_clusters(ids, pairs[pairs["is_match"]])
    return Resolution(clusters, pairs, time.perf_counter() - started)


def _corroborated(pairs: pd.DataFrame) -> pd.Series:
    """A model pair may merge only with a birthdate that agrees (exact or typed day-first), or,
    when a birthdate is missing, an email that agrees (same normalised address or local part):
    two different people of the same full name (and so often of the same `first.last@`) agree on
    everything else often enough to pass the threshold; their birthdates tell them apart."""
    birth = pairs["birth_date_level"].isin([BIRTH_EXACT, BIRTH_DAY_FIRST])
    return birth | (pairs["birth_date_level"].eq(-1) & (pairs["email_level"] >= EMAIL_SAME_LOCAL))


def _empty_scored() -> pd.DataFrame:
    cols = ["contact_id_l", "contact_id_r", "match_weight", "match_probability"]
    cols += [f"{f}_level" for f in FIELDS]
    return pd.DataFrame({c: pd.Series(dtype=object if c.startswith("contact") else float) for c in cols})


def _typed(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame, columns: dict[str, str]) -> str:
    """SQL selecting `frame` (registered as `name`) with the contract's column types."""
    con.register(name, frame)
    return "select " + ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in columns.items()) + f" from {name}"


def _scored(
    con: duckdb.DuckDBPyConnection, result: Resolution, manifest: Path | None, threshold: float, floor: float
) -> Resolution:
    """`result` with its `identity.scoring` row (against `manifest` when it describes `raw_contacts`)."""
    row = scoring_row(con, result.clusters, manifest, threshold, floor)
    return Resolution(result.clusters, result.pairs, result.seconds, row)


def run_duckdb(path: Path, threshold: float, review_floor: float, manifest: Path | None = None) -> Resolution:
    """Read `salesforce.contacts` from the DuckDB file `path`, resolve, write `identity.*` into it
    (`identity.scoring`: precision and recall against `manifest` when it describes the contacts)."""
    with duckdb.connect(str(path), config=config.duckdb_settings().connect_config(path)) as con:
        cols = ", ".join(RAW_COLUMNS)
        con.execute(f"create or replace temp table raw_contacts as select {cols} from salesforce.contacts")
        result = _scored(con, resolve(con, threshold, review_floor), manifest, threshold, review_floor)
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute(f"create or replace table {SCHEMA}.contact_clusters as "
                    + _typed(con, "clusters_df", result.clusters, CLUSTER_COLUMNS))  # fmt: skip
        con.execute(f"create or replace table {SCHEMA}.contact_pairs as "
                    + _typed(con, "pairs_df", result.pairs, PAIR_COLUMNS))  # fmt: skip
        assert result.scoring is not None
        con.execute(f"create or replace table {SCHEMA}.scoring as "
                    + _typed(con, "scoring_df", result.scoring, SCORING_COLUMNS))  # fmt: skip
        for table in ("nicknames", "matching_input"):
            con.execute(f"drop table if exists {table}")
        con.execute("drop schema if exists splink cascade")
        con.execute("checkpoint")
    return result


def run_postgres(
    dsn: str, schema: str, threshold: float, review_floor: float, manifest: Path | None = None
) -> Resolution:
    """Read `salesforce.contacts` from Postgres into DuckDB, resolve, write `<schema>.*` back
    (`scoring` as in `run_duckdb`)."""
    import psycopg2
    from psycopg2 import sql

    pg = psycopg2.connect(dsn)
    try:
        with pg, pg.cursor() as cur:
            cur.execute(f"select {', '.join(RAW_COLUMNS)} from salesforce.contacts")
            raw = pd.DataFrame(cur.fetchall(), columns=list(RAW_COLUMNS), dtype="object")
        with duckdb.connect(":memory:") as con:
            con.register("raw_df", raw)
            con.execute("create table raw_contacts as select * from raw_df")
            result = _scored(con, resolve(con, threshold, review_floor), manifest, threshold, review_floor)
        assert result.scoring is not None
        with pg, pg.cursor() as cur:
            cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
            for table, frame, columns in (
                ("contact_clusters", result.clusters, CLUSTER_COLUMNS),
                ("contact_pairs", result.pairs, PAIR_COLUMNS),
                ("scoring", result.scoring, SCORING_COLUMNS),
            ):
                ident = sql.Identifier(schema, table)
                cur.execute(sql.SQL("drop table if exists {}").format(ident))
                ddl = ", ".join(f'"{c}" {t.replace("varchar", "text").replace("double", "double precision")}'
                                for c, t in columns.items())  # fmt: skip
                cur.execute(sql.SQL("create table {} (" + ddl + ")").format(ident))
                buffer = io.StringIO()
                frame[list(columns)].to_csv(buffer, index=False, header=False, na_rep="\\N")
                buffer.seek(0)
                copy = sql.SQL("copy {} from stdin with (format csv, null '\\N')").format(ident)
                cur.copy_expert(copy.as_string(cur), buffer)
    finally:
        pg.close()
    return result
