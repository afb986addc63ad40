"""Cached queries behind the Data quality and Recommendations pages.

A failing test's rows: a test on a raw source (`web.transactions`, `salesforce.contacts`) is
traced back to the source rows it flagged (id, amount, source file and row) and the quarantine
reason each row got; a test on a model shows the failing rows it stored in schema `quality`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from c360.app.data import TTL_SECONDS
from c360.app.ui import AppDataError
from c360.warehouse import Warehouse, query, quote_identifier, table_exists, tables_in_schema

SAMPLE_ROWS = 20
LIST_ROWS = 200
REC_TABLES = ("next_best_category", "category_affinity", "next_best_category_evaluation")


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def quality_tables(wh: Warehouse) -> list[str]:
    """Tables in schema `quality` (quality models and stored test failures)."""
    return tables_in_schema(wh, "quality")


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def quarantine_counts(wh: Warehouse) -> pd.DataFrame:
    """Quarantined rows per source and reason."""
    return query(
        wh,
        """
        select 'contacts' as source, reason, count(*) as quarantined_rows
        from quality.quarantined_contacts
        group by reason
        union all
        select 'transactions' as source, reason, count(*) as quarantined_rows
        from quality.quarantined_transactions
        group by reason
        order by 1, 3 desc
        """,
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def quarantine_impact(wh: Warehouse) -> pd.DataFrame:
    """Per source and reason: quarantined rows and the dollars they hold (transactions' amounts
    that read as numbers; an amount that does not parse counts as a row without dollars)."""
    counts = quarantine_counts(wh)
    held = query(wh, "select reason, amount from quality.quarantined_transactions")
    held["dollars"] = pd.to_numeric(held["amount"].astype("string").str.strip(), errors="coerce")
    dollars = held.groupby("reason")["dollars"].sum(min_count=1).rename("held_amount").reset_index()
    dollars["source"] = "transactions"
    out = counts.merge(dollars, on=["source", "reason"], how="left")
    out["held_amount"] = out["held_amount"].astype("float64")
    return out.sort_values(["source", "quarantined_rows"], ascending=[True, False], ignore_index=True)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def row_conservation(wh: Warehouse) -> pd.DataFrame:
    """raw = clean + quarantined + collapsed duplicates, per source."""
    return query(wh, "select * from quality.row_conservation order by source")


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def listing(wh: Warehouse, table: str) -> tuple[int, pd.DataFrame]:
    """Row count and the first `LIST_ROWS` rows of `quality.identity_conflicts` or
    `quality.orphan_transaction_candidates` (fixed allow-list)."""
    order = {
        "identity_conflicts": "contact_id, _source_row_number",
        "orphan_transaction_candidates": "edit_distance, transaction_id",
    }
    if table not in order:
        raise ValueError(f"not a listed quality table: {table}")
    name = quote_identifier(table)
    total = query(wh, f"select count(*) as n from quality.{name}")
    rows = query(wh, f"select * from quality.{name} order by {order[table]} limit ?", (LIST_ROWS,))
    return int(total["n"].iloc[0]), rows


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def stored_failures(wh: Warehouse, table: str) -> pd.DataFrame:
    """Up to `SAMPLE_ROWS` failing rows a test stored in schema `quality`.

    `table` must be one of the tables that exist in `quality` (checked against the catalog).
    """
    if table not in quality_tables(wh):
        raise AppDataError(
            f"No stored failures table `quality.{table}`; the test may not store failures. "
            "Run `make build` to refresh them."
        )
    return query(wh, f"select * from quality.{quote_identifier(table)} limit ?", (SAMPLE_ROWS,))


# raw source -> (its quarantine table, the columns shown for a flagged row; no PII beyond ids)
SOURCE_ROWS = {
    "web.transactions": (
        "quarantined_transactions",
        ("id", "contact_id", "transaction_date", "amount", "category", "_source_file", "_source_row_number"),
    ),
    "salesforce.contacts": ("quarantined_contacts", ("id", "_source_file", "_source_row_number")),
}


def _stored_columns(wh: Warehouse, table: str) -> list[str]:
    return list(query(wh, f"select * from quality.{quote_identifier(table)} limit 0").columns)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def source_failing_rows(
    wh: Warehouse, source: str, column: str, test_type: str, stored: str | None, parent: str | None = None
) -> tuple[int, pd.DataFrame]:
    """The raw `source` rows a test on `source.column` flagged, with the quarantine reason each got.

    `not_null`: rows whose column is empty; `relationships` on a raw `parent` (`schema.table.field`):
    rows whose value the parent does not hold; other tests: rows whose column holds a value the test
    stored as failing (first column of its stored-failures table `quality.<stored>`). Returns the
    number of flagged rows and the first `LIST_ROWS` of them in source row order.
    """
    if source not in SOURCE_ROWS:
        raise ValueError(f"not a raw source: {source}")
    quarantine, shown = SOURCE_ROWS[source]
    raw_columns = list(query(wh, f"select * from {source} limit 0").columns)
    if column not in raw_columns:
        raise AppDataError(f"`{source}` has no column `{column}`. Run `make build` to refresh the artifacts.")
    col = f"r.{quote_identifier(column)}"
    parent_schema, parent_table, parent_field = ((parent or "").split(".") + ["", "", ""])[:3]
    if test_type == "not_null":
        condition = f"{col} is null"
    elif test_type == "relationships" and f"{parent_schema}.{parent_table}" in SOURCE_ROWS and parent_field:
        # dbt's relationships rule, evaluated here: the test stores no failing rows (they would
        # keep the ids of erased contacts in schema quality)
        key = quote_identifier(parent_field)
        condition = (
            f"{col} is not null and {col} not in (select {key} from {quote_identifier(parent_schema)}."
            f"{quote_identifier(parent_table)} where {key} is not null)"
        )
    else:
        if not stored or stored not in quality_tables(wh):
            raise AppDataError(f"No stored failures table `quality.{stored}`. Run `make build`.")
        key = quote_identifier(_stored_columns(wh, stored)[0])
        condition = f"{col} in (select {key} from quality.{quote_identifier(stored)})"
    base = f"""
        from {source} as r
        left join quality.{quarantine} as q
            on q._source_file = r._source_file and q._source_row_number = r._source_row_number
        where {condition}
    """
    total = query(wh, f"select count(*) as n {base}")
    picked = ", ".join(f"r.{quote_identifier(c)}" for c in shown)
    rows = query(
        wh,
        f"select {picked}, q.reason as quarantine_reason {base} "
        "order by r._source_file, r._source_row_number limit ?",
        (LIST_ROWS,),
    )
    kept = "not quarantined (a duplicate: see Row conservation / Identity conflicts)"
    rows["quarantine_reason"] = rows["quarantine_reason"].fillna(
        kept if test_type == "unique" else "not quarantined"
    )
    return int(total["n"].iloc[0]), rows


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def recommender_tables(wh: Warehouse) -> dict[str, bool]:
    """Which recommender tables exist in `marts`."""
    return {table: table_exists(wh, "marts", table) for table in REC_TABLES}


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def top_recommendations(wh: Warehouse, limit: int = 60) -> pd.DataFrame:
    """Rank-1 recommendation counts per category (how the recommender spreads its picks)."""
    return query(
        wh,
        """
        select category, count(*) as customers, avg(score) as average_score
        from marts.next_best_category
        where rank = 1
        group by category
        order by customers desc
        limit ?
        """,
        (int(limit),),
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def category_affinity(wh: Warehouse) -> pd.DataFrame:
    """Category-to-category affinity scores (the heatmap)."""
    return query(wh, "select from_category, to_category, score from marts.category_affinity")


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def recommender_evaluation(wh: Warehouse) -> pd.DataFrame:
    """Offline evaluation: test and validation scores per method and k, and the served method."""
    return query(
        wh,
        """
        select method, k, hit_rate, ndcg, coverage, customers_evaluated, validation_hit_rate,
            validation_ndcg, served_method, validation_cutoff_date, cutoff_date
        from marts.next_best_category_evaluation
        order by k, hit_rate desc
        """,
    )


MODEL_METHODS = ("model", "lightgbm")  # the SQL model and the learned one (c360.recs.model)
BASELINE_METHODS = ("cohort", "popularity")
ORACLE_METHOD = "oracle"  # the ceiling on generated data (c360.recs.oracle), never a served method


def served_verdict(evaluation: pd.DataFrame) -> tuple[str, list[str]]:
    """What the Recommendations page says about the served method: which one and why (from its
    validation NDCG), and one line per k where the model's test hit rate is below the best
    baseline's; on generated data the oracle's hit rate (the ceiling, never served) next to the
    served method's. Plain text; the caller escapes it for Markdown."""
    oracle = evaluation[evaluation["method"] == ORACLE_METHOD]
    methods = evaluation[~evaluation["method"].isin(["served", ORACLE_METHOD])]
    served = (
        str(evaluation["served_method"].dropna().iloc[0]) if evaluation["served_method"].notna().any() else ""
    )
    largest_k = methods["k"].max()
    at_k = methods[methods["k"] == largest_k].set_index("method")
    first = evaluation.iloc[0]
    start, end = (pd.Timestamp(first[column]).date() for column in ("validation_cutoff_date", "cutoff_date"))
    window = f"{start} up to {end}, where the test window starts"
    if at_k["validation_ndcg"].notna().any():
        scores = ", ".join(
            f"{m} {v:.1%}" for m, v in at_k["validation_ndcg"].dropna().sort_values(ascending=False).items()
        )
        why = (
            f"it had the best validation NDCG@{largest_k} on the purchases from {window} ({scores}); "
            "the test window played no part in the choice."
        )
    else:
        why = f"there was no validation event from {window}, so the model is served by default."
    summary = f"Serving: {served}. Chosen because {why}"
    if served in BASELINE_METHODS:
        summary += (
            f" The model is not served: it scored below the {served} baseline on the validation window."
        )
    if not oracle.empty and served in at_k.index:
        ceiling = oracle.set_index("k")["hit_rate"]
        if largest_k in ceiling.index and pd.notna(ceiling[largest_k]):
            summary += (
                f" Ceiling (generated data: the oracle ranks by the generator's true odds, which no model "
                f"sees): test hit rate@{largest_k} {ceiling[largest_k]:.1%}, served "
                f"{at_k.loc[served, 'hit_rate']:.1%}."
            )
    losses = []
    for k, group in methods.groupby("k"):
        rates = group.set_index("method")["hit_rate"]
        baselines = rates[rates.index.isin(BASELINE_METHODS)].dropna()
        for model in MODEL_METHODS:
            if model in rates and len(baselines) and rates[model] < baselines.max():
                best = baselines.idxmax()
                losses.append(
                    f"The {model} model loses to the {best} baseline at k = {k} on the test window: "
                    f"hit rate {rates[model]:.1%} vs {baselines.max():.1%}."
                )
    return summary, losses
