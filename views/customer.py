"""Customer profile (360): search, masked profile card, KPIs, timeline, RFM, held purchases and flags."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from c360.app import audiences as app_audiences
from c360.app import data as app_data
from c360.app import identity as app_identity
from c360.app import search as app_search
from c360.app.pii import mask_frame, profile_fields, ref_key, show_pii, shown_id
from c360.app.ui import category_colours, count, guarded, md_escape, md_quote, money, warehouse


def pick_customer(reveal: bool, key: str) -> str | None:
    """Search box -> at most 20 matches -> selectbox; the choice is kept in the URL (`?customer_id=`).

    Masked, the URL holds the id's surrogate (`ref`) and search matches whole values only.
    """
    wh = warehouse()
    app_data.require(wh, "marts.customers", "marts.transactions")
    if app_data.customer_counts(wh)["customers"] == 0:
        st.info("`marts.customers` is empty. Load data with `make data`, then run `make build`.")
        return None
    text = st.text_input(
        "Find a customer",
        key="customer_search",
        placeholder=(
            "Name, email, username or the start of a customer id"
            if reveal
            else "A whole first or last name, a full email or username, or a customer id"
        ),
    )
    shared = st.query_params.get("customer_id")
    if not text.strip():
        if shared:
            found = shared if reveal else app_search.customer_id_for_ref(wh, shared, key)
            if found is None:
                st.warning(
                    f"No customer has the reference {md_quote(shared)}. Search for the customer instead."
                )
            return found
        st.info("Type a name, email or customer id above and press Enter.")
        return None
    matches = app_search.search_customers(wh, text, substring=reveal)
    if matches.empty:
        st.query_params.pop("customer_id", None)  # a search with no match clears the selection
        st.warning(f"No customer matches “{md_quote(text.strip())}”.")
        return None
    labels = {
        row["customer_id"]: app_search.result_label(row, reveal, key) for row in matches.to_dict("records")
    }
    if len(matches) == app_search.SEARCH_LIMIT:
        st.caption(f"Showing the first {app_search.SEARCH_LIMIT} matches; type more to narrow down.")
    chosen = st.selectbox(
        "Matches",
        list(labels),
        index=None,
        format_func=labels.__getitem__,
        key="customer_pick",
        placeholder=f"Pick one of {len(labels)} match(es)",
    )
    if chosen:
        st.query_params["customer_id"] = shown_id(chosen, reveal, key)
    else:
        st.query_params.pop("customer_id", None)  # nothing is selected until the user picks
    return chosen


def profile_card(profile: dict, reveal: bool, key: str) -> None:
    """Identity (masked unless C360_SHOW_PII=1) and headline KPIs."""
    fields = profile_fields(profile, reveal)
    st.subheader(md_escape(fields["Name"]))
    shown = md_escape(shown_id(profile["customer_id"], reveal, key))
    st.caption(f"Customer id {shown}" if reveal else f"Customer ref {shown} · PII masked")
    columns = st.columns(len(fields) - 1)
    for column, (label, value) in zip(columns, list(fields.items())[1:], strict=True):
        column.markdown(f"**{label}**  \n{md_escape(value)}")
    kpis = st.columns(4)
    kpis[0].metric("Total spend", money(profile["total_spend"]))
    kpis[1].metric("Orders", count(profile["order_count"]))
    kpis[2].metric("Average order value", money(profile["average_order_value"]))
    days = profile["days_since_last_purchase"]
    kpis[3].metric("Days since last purchase", "—" if pd.isna(days) else f"{int(days):,}")
    first = profile.get("first_purchase_date")
    st.caption(
        f"{count(profile['items_purchased'])} items bought"
        + ("" if first is None or pd.isna(first) else f" · first purchase {pd.Timestamp(first).date()}")
    )


def held_summary(found: dict[str, pd.DataFrame]) -> tuple[int, float]:
    """(rows, readable amount) of the customer's purchases held in quarantine."""
    held = found.get("held")
    if held is None or held.empty:
        return 0, 0.0
    return len(held), float(held["amount_value"].sum())


def provisional_note(profile: dict, found: dict[str, pd.DataFrame], what: str) -> None:
    """Say that `what` leaves out held purchases (or an identity conflict) of this customer."""
    rows, amount = held_summary(found)
    if rows:
        st.caption(
            f"Provisional: {what} leave out {count(rows)} purchase(s) of {money(amount)} "
            "held in quarantine (see Data-quality flags)."
        )
    elif profile.get("has_identity_conflict"):
        st.caption(f"Provisional: {what} describe one of several people sharing this contact id.")


def rfm_block(profile: dict, found: dict[str, pd.DataFrame]) -> None:
    """The RFM segment, its scores and what it means (from the rfm_segments seed)."""
    st.markdown(f"#### RFM segment: {md_escape(profile['rfm_segment'])}")
    provisional_note(profile, found, "the segment and spend")
    scores = [profile.get(k) for k in ("recency_score", "frequency_score", "monetary_score")]
    if not any(pd.isna(s) for s in scores):
        st.caption(f"Recency {int(scores[0])} · Frequency {int(scores[1])} · Monetary {int(scores[2])} (1-5)")
    if profile.get("segment_description"):
        st.markdown(md_escape(profile["segment_description"]))
    if profile.get("segment_action"):
        st.caption(f"Recommended action: {md_escape(profile['segment_action'])}")


def segment_history(customer_id: str) -> None:
    """The segments the customer moved through, month end by month end (customer-state history)."""
    history = app_data.customer_segment_history(warehouse(), customer_id)
    if history is None:
        st.caption("Segment history is not built yet: run `make build`.")
        return
    if history.empty:
        return
    st.markdown("#### Segment history")
    st.caption(
        "The RFM segment at each month end where it changed (scored among the customers of that "
        "time); a partial month is the as-of date."
    )
    st.dataframe(
        history.drop(columns=["is_partial_month"]),
        hide_index=True,
        column_config={
            "since": st.column_config.DateColumn("Since (month end)"),
            "rfm_segment": "Segment",
            "recency_days": st.column_config.NumberColumn("Days since last purchase"),
            "spend_to_date": st.column_config.NumberColumn("Spend to date", format="dollar"),
        },
    )


def quality_flags(profile: dict, found: dict[str, pd.DataFrame], reveal: bool, key: str) -> None:
    """Held purchases, identity conflicts and orphan transactions that probably belong to this customer."""
    st.markdown("#### Data-quality flags")
    flagged = False
    rows, amount = held_summary(found)
    if rows:
        flagged = True
        held = found["held"]
        st.warning(
            f"{count(rows)} purchase(s) on this contact id are held in quarantine and counted nowhere "
            "in this profile."
        )
        left, right = st.columns(2)
        left.metric("Held purchases", count(rows))
        right.metric("Held amount", money(amount))
        reasons = held["reason"].value_counts()
        st.caption("Reasons: " + md_escape(", ".join(f"{reason} ({n})" for reason, n in reasons.items())))
        st.dataframe(held.drop(columns=["amount_value"]), hide_index=True)
    if profile.get("has_identity_conflict"):
        flagged = True
        conflicts = found.get("identity_conflicts")
        others = (
            None if conflicts is None else conflicts[conflicts["customer_id"] != str(profile["customer_id"])]
        )
        several = others is not None and len(others) > 1
        people = f"{len(others)} other people share" if several else "another person shares"
        st.warning(
            f"Identity conflict: {people} this contact id, so its purchases cannot be told apart"
            + (" and are held above." if rows else ".")
        )
        if others is not None and not others.empty:
            st.caption("The other record(s) on the same contact id:")
            st.dataframe(
                mask_frame(others, reveal, key),
                hide_index=True,
                column_config={"customer_id": st.column_config.TextColumn(width="medium")},
            )
    orphans = found.get("orphans")
    if orphans is not None and not orphans.empty:
        flagged = True
        st.warning(
            f"{len(orphans)} orphan transaction(s) probably belong to this customer "
            "(their contact id is a near match)."
        )
        st.dataframe(
            mask_frame(orphans, reveal, key),
            hide_index=True,
            column_config={"contact_id": st.column_config.TextColumn(width="medium")},
        )
    if not flagged:
        st.success("No data-quality flags.")


def audience_membership(customer_id: str) -> None:
    """The saved audiences (Audiences page) this customer belongs to."""
    st.markdown("#### Audiences")
    try:
        saved = app_audiences.AudienceStore.default().load()
    except app_audiences.AudienceError as exc:
        st.caption(md_escape(exc))
        return
    if not saved:
        st.caption("No saved audiences yet (build them on the Audiences page).")
        return
    names = app_audiences.memberships(warehouse(), customer_id, tuple(sorted(saved.items())))
    st.caption(
        "In " + ", ".join(f"“{md_escape(n)}”" for n in names) if names else "In none of the saved audiences."
    )


def merged_records(profile: dict, reveal: bool, key: str) -> None:
    """The person's source records (identity resolution, docs/identity.md) and why they matched."""
    st.markdown("#### Merged records")
    ids = app_identity.member_ids(profile)
    if len(ids) < 2:
        st.caption("One source record: nothing was merged into this customer.")
        return
    wh = warehouse()
    confidence = profile.get("match_confidence")
    weakest = "" if confidence is None or pd.isna(confidence) else f"; weakest link {confidence:.1%}"
    st.caption(
        f"{count(len(ids))} source records matched as one person{weakest}"
        + ("." if reveal else " · PII masked (ids shown as refs).")
    )
    records = app_identity.member_records(wh, ids)
    st.dataframe(
        app_identity.shown_members(records, reveal, key),
        hide_index=True,
        column_config={
            "contact_id": st.column_config.TextColumn("Contact id" if reveal else "Contact ref"),
            "full_name": "Name",
            "email": "Email",
            "birth_date": "Birth date",
            "address": "Address",
        },
    )
    pairs = app_identity.member_pairs(wh, ids)
    if pairs is None:
        st.caption("The match evidence (`quality.identity_matches`) is not built yet: run `make build`.")
        return
    if pairs.empty:
        st.caption("No scored pair between these records is stored.")
        return
    st.markdown("**Why they matched**")
    st.dataframe(
        app_identity.shown_pairs(pairs, reveal, key),
        hide_index=True,
        column_config={
            "contact_id_l": "Record",
            "contact_id_r": "With record",
            "is_match": st.column_config.CheckboxColumn("Matched"),
            "matched_by": "Matched by",
            "match_probability": st.column_config.NumberColumn("Probability", format="%.3f"),
            "match_weight": st.column_config.NumberColumn("Weight", format="%.2f"),
            **{field: field.replace("_", " ").capitalize() for field in app_identity.FIELDS},
        },
    )
    st.caption(
        "Matched by `email`: the same normalised email and a birth date that does not contradict it; "
        "`model`: the probabilistic model's match probability at or above the threshold, with agreeing "
        "birth dates (or emails). Fields: " + app_identity.LEGEND + "."
    )


PAGE_SIZES = (5, 10, 25, 100)


def transactions_table(customer_id: str) -> None:
    """The customer's transactions, newest first, a chosen number (`PAGE_SIZES`) per page."""
    st.markdown("#### Transactions")
    wh = warehouse()
    orders, _ = app_data.customer_transactions_page(wh, customer_id, 1, 0)
    if not orders:
        st.caption("No transactions.")
        return
    left, right = st.columns(2)
    size = int(right.selectbox("Rows per page", PAGE_SIZES, index=2, key="tx_page_size"))
    pages = max(1, -(-orders // size))
    page = int(left.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, key="tx_page"))
    _, rows = app_data.customer_transactions_page(wh, customer_id, page, size)
    first = (page - 1) * size + 1
    st.caption(f"Transactions {first:,}-{first + len(rows) - 1:,} of {orders:,}, newest first.")
    st.dataframe(
        rows, hide_index=True, column_config={"amount": st.column_config.NumberColumn(format="dollar")}
    )


def render() -> None:
    """The page body."""
    st.title("Customer profile")
    reveal = show_pii()
    key = "" if reveal else ref_key()
    customer_id = pick_customer(reveal, key)
    if not customer_id:
        return
    wh = warehouse()
    profile = app_data.customer_profile(wh, customer_id)
    if profile is None:
        st.warning(f"Customer {md_escape(shown_id(customer_id, reveal, key))} is not in `marts.customers`.")
        return
    profile_card(profile, reveal, key)
    found = app_data.customer_quality(wh, str(profile["contact_id"]), str(profile["customer_id"]))
    held, amount = held_summary(found)
    if held:
        st.warning(
            f"Provisional profile: {count(held)} purchase(s) of {money(amount)} on this contact id are held "
            "in quarantine and not in the figures above (see Data-quality flags).",
            icon=":material/warning:",
        )
    colours = category_colours(app_data.filter_options(wh)["categories"])
    left, right = st.columns([3, 2])
    with left:
        st.markdown("#### Purchase timeline")
        timeline = app_data.customer_transactions(wh, customer_id)
        if timeline.empty:
            st.info("No purchases yet.")
        else:
            figure = px.scatter(
                timeline,
                x="transaction_at",
                y="amount",
                color="category",
                color_discrete_map=colours,
                size="item_count",
                labels={"transaction_at": "", "amount": "Amount ($)", "category": ""},
            )
            figure.update_layout(margin={"t": 10}, height=320)
            st.plotly_chart(figure, width="stretch")
    with right:
        st.markdown("#### Category mix")
        mix = app_data.customer_category_mix(wh, customer_id)
        if mix.empty:
            st.info("No purchases yet.")
        else:
            figure = px.pie(
                mix, names="category", values="amount", hole=0.5, color="category", color_discrete_map=colours
            )
            figure.update_layout(margin={"t": 10}, height=320)
            st.plotly_chart(figure, width="stretch")
    left, right = st.columns(2)
    with left:
        rfm_block(profile, found)
        segment_history(customer_id)
        st.markdown("#### Next best categories")
        recs = app_data.customer_recommendations(wh, customer_id)
        if recs is None:
            st.info("Recommendations are not built yet: run `make build`.")
        elif recs.empty:
            st.caption("No recommendation for this customer.")
        else:
            provisional_note(profile, found, "these recommendations")
            st.dataframe(recs, hide_index=True)
    with right:
        quality_flags(profile, found, reveal, key)
        audience_membership(str(profile["customer_id"]))
    guarded(lambda: merged_records(profile, reveal, key))
    transactions_table(customer_id)


guarded(render)
