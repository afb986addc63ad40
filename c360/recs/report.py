"""Read and format the recommender's offline evaluation (`marts.next_best_category_evaluation`).

`read_evaluation` reads the table from a built DuckDB file or Postgres database (read-only,
connection closed afterwards); `format_markdown` renders one or more evaluations as the
Markdown table printed by `make eval-recs` and kept in docs/recommender.md.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import psycopg2

from c360 import config

EVALUATION_SQL = (
    "select dataset, cutoff_date, method, k, hit_rate, coverage, customers_evaluated, hit_count,"
    " guaranteed_hit_rate from marts.next_best_category_evaluation order by k, method"
)
BASELINES = ("popularity", "cohort")


def read_evaluation(
    target: str, duckdb_path: Path | None = None, pg: config.PgSettings | None = None
) -> pd.DataFrame:
    """The evaluation table of one warehouse (`target` is `duckdb` or `postgres`)."""
    if target == "duckdb":
        if duckdb_path is None or not duckdb_path.exists():
            raise FileNotFoundError(f"no DuckDB warehouse at {duckdb_path}; run `make build` first")
        con = duckdb.connect(str(duckdb_path), read_only=True)
        try:
            return con.sql(EVALUATION_SQL).df()
        finally:
            con.close()
    if target == "postgres":
        settings = pg or config.pg_settings()
        with psycopg2.connect(settings.dsn()) as con, con.cursor() as cur:
            cur.execute(EVALUATION_SQL)
            columns = [d.name for d in cur.description]
            frame = pd.DataFrame(cur.fetchall(), columns=columns)
        con.close()
        for column in ("hit_rate", "coverage", "guaranteed_hit_rate"):
            frame[column] = frame[column].astype(float)
        return frame
    raise ValueError(f"reading the evaluation needs DBT_TARGET duckdb or postgres, not {target!r}")


def with_lift(frame: pd.DataFrame) -> pd.DataFrame:
    """Add `best_baseline_hit_rate` and `lift` (model hit rate / best baseline's - 1) per dataset and k."""
    keys = ["dataset", "k"]
    baselines = frame[frame["method"].isin(BASELINES)].groupby(keys)["hit_rate"].max()
    baselines = baselines.rename("best_baseline_hit_rate").reset_index()
    out = frame.merge(baselines, on=keys, how="left")
    out["lift"] = out["hit_rate"] / out["best_baseline_hit_rate"] - 1.0
    out.loc[out["method"] != "model", "lift"] = float("nan")
    return out


def format_markdown(frame: pd.DataFrame) -> str:
    """A Markdown table: dataset, cutoff, method, k, hit rate, lift, coverage, customers, floor."""
    rows = [
        "| dataset | cutoff | method | k | hit rate | vs best baseline | coverage | customers evaluated "
        "| guaranteed hits |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    order = {"model": 0, "popularity": 1, "cohort": 2}
    data = with_lift(frame)
    data = data.assign(_o=data["method"].map(order)).sort_values(["dataset", "k", "_o"])
    for row in data.itertuples():
        lift = "" if pd.isna(row.lift) else f"{row.lift:+.1%}"
        hit = "n/a" if pd.isna(row.hit_rate) else f"{row.hit_rate:.1%}"
        floor = "n/a" if pd.isna(row.guaranteed_hit_rate) else f"{row.guaranteed_hit_rate:.1%}"
        cutoff = pd.Timestamp(row.cutoff_date).date()
        rows.append(
            f"| {row.dataset} | {cutoff} | {row.method} | {row.k} | {hit} | {lift} "
            f"| {row.coverage:.0%} | {row.customers_evaluated:,} | {floor} |"
        )
    return "\n".join(rows)
