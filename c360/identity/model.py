"""The probabilistic model: Splink on DuckDB, parameters by expectation maximisation (no labels).

Comparisons (each level's SQL sees the pair as `<column>_l` / `<column>_r`):
- `first_name`: exact, nickname (the other's known short/long form), Jaro-Winkler >= 0.88, else;
- `surname`: exact, Jaro-Winkler >= 0.88, else (a changed surname is the `else` level);
- `email`: same normalised email, same local part, one local part (dots removed) the start of
  the other (`jane.doe` / `janedoe77`), Jaro-Winkler of the local part >= 0.94, else;
- `birth_date`: exact, typed day-first (day and month swapped, same year), same year and month,
  else;
- `address`: exact (normalised), same postcode, else; `gender`: exact, else.
Blocking rules for prediction: same normalised email, or the same birth date and one of
surname / first name / postcode, or same first name and surname, or same surname and birth year
and month. Training: the prior from deterministic rules, u by random sampling (seeded), m by EM
on the birth-date block (every comparison but birth_date; its m is a documented prior).
"""

from __future__ import annotations

import logging

import duckdb
import pandas as pd

FIELDS = ("first_name", "surname", "email", "birth_date", "address", "gender")
SEED = 42
# m of the birth_date levels (exact, day-first, same year+month, else): the one comparison EM
# does not estimate (its block is the birth date), set from how often a person's two records
# differ in it (a typed day-first date is rare, any other difference rarer still)
BIRTH_DATE_M = (0.9, 0.07, 0.02, 0.01)
# below this many pairs in the EM block (a tiny file such as the exercise sample) the model is
# not trained and only the deterministic rule matches
MIN_TRAINING_PAIRS = 100
# gammas used by the merge gate (c360/identity/step.py): birth_date exact / day-first, email
# same local part (the level above it is the same normalised address)
BIRTH_EXACT, BIRTH_DAY_FIRST, EMAIL_SAME_LOCAL = 3, 2, 3


def _settings() -> object:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    first_name = cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            cll.NullLevel("first_name"),
            cll.ExactMatchLevel("first_name"),
            cll.CustomLevel(
                "list_contains(first_name_forms_l, first_name_r)",
                label_for_charts="nickname",
            ),
            cll.JaroWinklerLevel("first_name", 0.88),
            cll.ElseLevel(),
        ],
    )
    email = cl.CustomComparison(
        output_column_name="email",
        comparison_levels=[
            cll.NullLevel("email_norm"),
            cll.ExactMatchLevel("email_norm"),
            cll.ExactMatchLevel("email_local"),
            cll.CustomLevel(
                "starts_with(email_dotless_l, email_dotless_r)"
                " or starts_with(email_dotless_r, email_dotless_l)",
                label_for_charts="local part extended",
            ),
            cll.JaroWinklerLevel("email_local", 0.94),
            cll.ElseLevel(),
        ],
    )
    birth = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date").configure(m_probability=BIRTH_DATE_M[0]),
            cll.CustomLevel(
                "birth_year_l = birth_year_r and birth_month_l = birth_dom_r and birth_dom_l = birth_month_r",
                label_for_charts="day-first",
            ).configure(m_probability=BIRTH_DATE_M[1]),
            cll.CustomLevel(
                "birth_year_l = birth_year_r and birth_month_l = birth_month_r", label_for_charts="year-month"
            ).configure(m_probability=BIRTH_DATE_M[2]),
            cll.ElseLevel().configure(m_probability=BIRTH_DATE_M[3]),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("address_norm"),
            cll.ExactMatchLevel("address_norm"),
            cll.ExactMatchLevel("postcode"),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="contact_id",
        comparisons=[
            first_name,
            cl.JaroWinklerAtThresholds("surname", [0.88]),
            email,
            birth,
            address,
            cl.ExactMatch("gender"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email_norm"),
            block_on("email_local"),
            block_on("birth_date"),
            block_on("first_initial", "surname", "birth_year"),
            block_on("postcode", "first_name"),
            block_on("surname", "postcode"),
            block_on("first_name", "surname"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,
    )


def predict(con: duckdb.DuckDBPyConnection, floor: float) -> pd.DataFrame | None:
    """Scored pairs of table `matching_input` in `con` with match probability >= `floor`:
    `contact_id_l, contact_id_r, match_weight, match_probability, <field>_level` (gamma: -1 null,
    0 disagree, higher = closer; the top level of each field is an exact agreement). None when
    the data is too small to train (fewer than MIN_TRAINING_PAIRS pairs in the EM block) or when
    the strict training rules find no pair (no duplicate people to learn from)."""
    from splink import DuckDBAPI, Linker, block_on

    training_pairs = con.execute(
        "select coalesce(sum(n * (n - 1) / 2), 0) from "
        "(select count(*) as n from matching_input where birth_date is not null group by birth_date)"
    ).fetchall()[0][0]
    if training_pairs < MIN_TRAINING_PAIRS:  # too few records to estimate anything: rules only
        return None
    # The prior is estimated from the pairs these strict rules find; with none (data without
    # duplicate people, e.g. an own CRM already deduplicated) it would be 0 and Splink fails
    # (log of 0), and a model could not match anything anyway: rules only.
    # (Grouped, one pass each: a join on an OR of the two rules is a nested loop, quadratic.)
    if not con.execute(
        "select exists (select email_norm from matching_input where email_norm is not null"
        " group by email_norm having count(distinct contact_id) > 1)"
        " or exists (select 1 from matching_input"
        " where first_name is not null and surname is not null and birth_date is not null"
        " group by first_name, surname, birth_date having count(distinct contact_id) > 1)"
    ).fetchall()[0][0]:
        return None
    db_api = DuckDBAPI(connection=con)
    frame = db_api.register("matching_input")
    linker = Linker(frame, _settings(), log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email_norm"), block_on("first_name", "surname", "birth_date")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=SEED)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("birth_date"), record_sample_proportion=1.0
    )
    scored = linker.inference.predict(threshold_match_probability=floor)
    gammas = ", ".join(f"gamma_{f} as {f}_level" for f in FIELDS)
    return con.execute(
        "select contact_id_l, contact_id_r, match_weight, match_probability, "
        f"{gammas} from {scored.physical_name}"
    ).df()


def top_levels() -> dict[str, int]:
    """The gamma of the exact-agreement level per field (levels counted without the null level)."""
    return {"first_name": 3, "surname": 2, "email": 4, "birth_date": 3, "address": 2, "gender": 1}
