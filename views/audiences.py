"""Audiences: build with AND/OR groups of conditions, live size and spend, save, share, overlap, export."""

from __future__ import annotations

import dataclasses
from functools import partial

import streamlit as st

from c360.app import audiences as aud
from c360.app import data as app_data
from c360.app.pii import show_pii
from c360.app.ui import count, guarded, md_escape, md_quote, money, warehouse

STATE = "aud_audience"
VERSION = "aud_version"
CURRENT = "Current audience"


def _audience() -> aud.Audience:
    return st.session_state[STATE]


def _replace(audience: aud.Audience) -> None:
    """Store a structurally changed audience; new widget keys so the group radios show it."""
    st.session_state[STATE] = audience
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1


def restore(saved: dict[str, aud.Audience]) -> None:
    """On a session's first run: the saved audience `?audience=`, else the one encoded in `?audience_def=`."""
    if STATE in st.session_state:
        return
    audience = aud.Audience()
    name = st.query_params.get("audience")
    encoded = st.query_params.get("audience_def")
    if name and name in saved:
        audience = saved[name]
        st.session_state["aud_name"] = name
    elif encoded:
        try:
            audience = aud.decode(encoded)
        except aud.AudienceError as exc:
            st.warning(f"The audience in the link was not restored: {md_escape(exc)}.")
    elif name:
        st.warning(f"No saved audience is called “{md_quote(name)}”.")
    _replace(audience)


def _new_condition(field: str) -> aud.Condition:
    """The condition the "Add condition" widgets describe (raises AudienceError when incomplete)."""
    kind = aud.FIELDS[field].kind
    state = st.session_state
    op = state.get(f"aud_op_{field}") or next(iter(aud.OPERATORS[kind]))
    if kind == "choice":
        return aud.Condition(field, op, values=tuple(state.get(f"aud_values_{field}") or ()))
    if kind == "number":
        return aud.Condition(field, op, number=float(state.get(f"aud_number_{field}") or 0.0))
    days = int(state.get("aud_days") or 0)
    return aud.Condition(field, op, values=(str(state.get("aud_category")),), days=days or None)


def _add_condition() -> None:
    state = st.session_state
    audience = _audience()
    try:
        condition = _new_condition(state["aud_field"])
    except aud.AudienceError as exc:
        state["aud_problem"] = str(exc)
        return
    groups = list(audience.groups)
    target = int(state.get("aud_target") or 0)
    if target >= len(groups):
        groups.append(aud.Group((condition,)))
    else:
        conditions = (*groups[target].conditions, condition)
        groups[target] = dataclasses.replace(groups[target], conditions=conditions)
    try:
        _replace(dataclasses.replace(audience, groups=tuple(groups)))
    except aud.AudienceError as exc:
        state["aud_problem"] = str(exc)


def _remove(group: int, condition: int | None = None) -> None:
    audience = _audience()
    groups = list(audience.groups)
    if condition is None:
        del groups[group]
    else:
        kept = tuple(c for j, c in enumerate(groups[group].conditions) if j != condition)
        groups[group] = dataclasses.replace(groups[group], conditions=kept)
        if not kept:
            del groups[group]
    _replace(dataclasses.replace(audience, groups=tuple(groups)))


def _open(saved: dict[str, aud.Audience]) -> None:
    name = st.session_state.get("aud_open_name")
    if name in saved:
        _replace(saved[name])
        st.session_state["aud_name"] = name


def _match_radio(label: str, current: str, key: str) -> str:
    return st.radio(
        label,
        aud.MATCHES,
        index=aud.MATCHES.index(current),
        format_func={"all": "all (AND)", "any": "any (OR)"}.__getitem__,
        horizontal=True,
        key=key,
    )


def builder(options: dict[str, list[str]]) -> aud.Audience:
    """The groups and their conditions, with remove buttons and the "Add condition" row."""
    audience = _audience()
    version = st.session_state.get(VERSION, 0)
    match = _match_radio("Customers must match", audience.match, f"aud_match_{version}")
    groups = []
    for i, group in enumerate(audience.groups):
        with st.container(border=True):
            head, remove = st.columns([3, 1])
            with head:
                group_match = _match_radio(f"Group {i + 1} matches", group.match, f"aud_gm_{version}_{i}")
            remove.button("Remove group", key=f"aud_rmg_{version}_{i}", on_click=_remove, args=(i,))
            for j, condition in enumerate(group.conditions):
                text, button = st.columns([5, 1])
                text.markdown(md_escape(condition.describe()))
                button.button("Remove", key=f"aud_rm_{version}_{i}_{j}", on_click=_remove, args=(i, j))
        groups.append(dataclasses.replace(group, match=group_match))
    audience = aud.Audience(tuple(groups), match)
    st.session_state[STATE] = audience

    st.markdown("##### Add a condition")
    target, field_column, op_column, value_column = st.columns([1, 1, 1, 2])
    targets = list(range(len(audience.groups) + 1))
    target.selectbox(
        "Add to",
        targets,
        format_func=lambda i: f"Group {i + 1}" if i < len(audience.groups) else "A new group",
        key="aud_target",
    )
    field = field_column.selectbox(
        "Field", list(aud.FIELDS), format_func=lambda f: aud.FIELDS[f].label, key="aud_field"
    )
    kind = aud.FIELDS[field].kind
    operators = aud.OPERATORS[kind]
    op_column.selectbox(
        "Condition", list(operators), format_func=operators.__getitem__, key=f"aud_op_{field}"
    )
    with value_column:
        if kind == "choice":
            st.multiselect("Values", options[field], key=f"aud_values_{field}")
        elif kind == "number":
            st.number_input("Value", min_value=0.0, value=0.0, step=1.0, key=f"aud_number_{field}")
        else:
            left, right = st.columns(2)
            left.selectbox("Category", options["category"], key="aud_category")
            right.number_input(
                "Within the last N days (0 = ever)", min_value=0, value=90, step=30, key="aud_days"
            )
    st.button("Add condition", key="aud_add", on_click=_add_condition, icon=":material/add:")
    problem = st.session_state.pop("aud_problem", None)
    if problem:
        st.warning(md_escape(problem))
    return audience


def keep_in_url(audience: aud.Audience, saved: dict[str, aud.Audience]) -> None:
    """`?audience_def=` always holds the definition; `?audience=` only while it equals that saved one."""
    if audience.describe() == aud.Audience().describe():
        st.query_params.pop("audience_def", None)
    else:
        st.query_params["audience_def"] = aud.encode(audience)
    name = st.query_params.get("audience")
    if name and saved.get(name) != audience:
        st.query_params.pop("audience", None)


def save_and_open(store: aud.AudienceStore, saved: dict[str, aud.Audience], audience: aud.Audience) -> None:
    """Save under a name; open or delete a saved audience."""
    st.subheader("Saved audiences")
    name_column, save_column = st.columns([3, 1])
    name = name_column.text_input("Audience name", key="aud_name", max_chars=aud.MAX_NAME)
    if save_column.button("Save audience", key="aud_save", icon=":material/save:"):
        try:
            stored = store.save(name, audience)
        except aud.AudienceError as exc:
            st.warning(md_escape(exc))
        else:
            saved[stored] = audience
            st.query_params["audience"] = stored
            st.success(f"Saved “{md_escape(stored)}”. The address bar now links to it.")
    if not saved:
        st.caption("No saved audiences yet.")
        return
    pick, open_column, delete_column = st.columns([3, 1, 1])
    chosen = pick.selectbox("Saved", sorted(saved), key="aud_open_name")
    open_column.button("Open", key="aud_open", on_click=_open, args=(saved,))
    if delete_column.button("Delete", key="aud_delete") and chosen:
        store.delete(chosen)
        saved.pop(chosen, None)
        st.rerun()
    st.dataframe(
        [{"audience": n, "definition": a.describe()} for n, a in sorted(saved.items())],
        hide_index=True,
        column_config={"definition": st.column_config.TextColumn(width="large")},
    )


def overlap(saved: dict[str, aud.Audience], audience: aud.Audience) -> None:
    """Customers in both of two audiences (saved ones or the one being built)."""
    if not saved:
        return
    st.subheader("Overlap of two audiences")
    choices = {CURRENT: audience, **saved}
    left, right = st.columns(2)
    first = left.selectbox("First audience", list(choices), key="aud_ov_a")
    second = right.selectbox("Second audience", list(choices), index=min(1, len(choices) - 1), key="aud_ov_b")
    result = aud.audience_overlap(warehouse(), choices[first], choices[second])
    both, only_first, only_second = st.columns(3)
    both.metric("In both", count(result["both"]))
    only_first.metric("Only in the first", count(result["first"]))
    only_second.metric("Only in the second", count(result["second"]))


def render() -> None:
    """The page body."""
    st.title("Audiences")
    wh = warehouse()
    app_data.require(wh, "marts.customers", "marts.transactions")
    if app_data.customer_counts(wh)["customers"] == 0:
        st.info("`marts.customers` is empty. Load data with `make data`, then run `make build`.")
        return
    options = aud.choice_options(wh)
    store = aud.AudienceStore.default()
    try:
        saved = store.load()
    except aud.AudienceError as exc:
        st.warning(md_escape(exc))
        saved = {}
    restore(saved)
    audience = builder(options)
    keep_in_url(audience, saved)
    size = aud.audience_size(wh, audience)
    st.markdown(f"**Audience:** {md_escape(audience.describe())}")
    left, right = st.columns(2)
    left.metric("Audience size", count(size["customers"]))
    right.metric("Audience spend", money(size["spend"]))
    reveal = show_pii()
    name = " ".join(str(st.session_state.get("aud_name") or "audience").split()) or "audience"
    csv_column, json_column = st.columns(2)
    csv_column.download_button(
        "Download audience CSV",
        data=partial(aud.audience_csv, wh, audience, reveal),  # built only when clicked
        file_name="audience.csv",
        mime="text/csv",
        icon=":material/download:",
        disabled=size["customers"] == 0,
        on_click="ignore",
        help="partner_key = sha256(share salt || customer_id); "
        "email_sha256 = sha256(trimmed lower-case email)"
        + ("; raw ids and PII included (C360_SHOW_PII=1)" if reveal else ""),
    )
    json_column.download_button(
        "Download definition (JSON)",
        data=partial(aud.audience_definition, wh, name, audience, reveal),
        file_name="audience.json",
        mime="application/json",
        icon=":material/data_object:",
        on_click="ignore",
        help="The filters, row count, anchor date and salt fingerprint of the CSV",
    )
    save_and_open(store, saved, audience)
    overlap(saved, audience)


guarded(render)
