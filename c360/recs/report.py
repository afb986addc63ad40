"""Read and format the recommender's offline evaluation (`marts.next_best_category_evaluation`).

`read_evaluation` reads the table from a built DuckDB file or Postgres database (through
`c360.warehouse`); `format_markdown` renders one or more evaluations as the
Markdown table printed by `make eval-recs` and kept in docs/recommender.md.
"""

from __future__ import annotations

import pandas as pd

from c360.warehouse import Warehouse, query

EVALUATION_SQL = (
    "select dataset, cutoff_date, method, k, hit_rate, coverage, customers_evaluated, hit_count,"
    " guaranteed_hit_rate from marts.next_best_category_evaluation order by k, method"
)
BASELINES = ("popularity", "cohort")


def read_evaluation(warehouse: Warehouse) -> pd.DataFrame:
    """The evaluation table of one built DuckDB or Postgres warehouse."""
    return query(warehouse.require(), EVALUATION_SQL)


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
