"""Metrics explorer: self-service queries over the MetricFlow semantic layer, state kept in the URL."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from c360.app import metrics as app_metrics
from c360.app.ui import csv_bytes, guarded, md_escape, md_quote, warehouse

GRAINS = ("day", "week", "month", "quarter", "year")


def restore_from_url(metric_names: list[str]) -> None:
    """First visit in this session: put the view in the URL into the widgets (names checked later)."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    state = app_metrics.state_from_params(params)
    metrics = [m for m in state.metrics if m in metric_names]
    ignored = [f"metric “{md_quote(m)}” (not in the catalog)" for m in state.metrics if m not in metric_names]
    if state.grain and state.grain not in GRAINS:
        ignored.append(f"time grain “{md_quote(state.grain)}” (use {', '.join(GRAINS)})")
    for name, parsed in (("start", state.start), ("end", state.end)):
        raw = (params.get(name) or [""])[0]
        if raw and parsed is None:
            ignored.append(f"{name} “{md_quote(raw)}” (not a date; use YYYY-MM-DD)")
    if ignored:
        st.warning("Parts of this link were ignored: " + "; ".join(ignored[:5]) + ".")
    default = ["total_spend"] if "total_spend" in metric_names else metric_names[:1]
    st.session_state["mx_metrics"] = metrics or default
    st.session_state["mx_group_by"] = list(state.group_by)
    st.session_state["mx_grain"] = (
        state.grain if state.grain in GRAINS else ("month" if not metrics else None)
    )
    st.session_state["mx_filter_dim"] = state.filter_dim
    st.session_state["mx_filter_values"] = list(state.filter_values)
    st.session_state["mx_start"] = state.start
    st.session_state["mx_end"] = state.end


def keep_valid(key: str, options: list) -> None:
    """Drop choices (from the URL or an earlier metric choice) that the current options do not offer."""
    value = st.session_state.get(key)
    if isinstance(value, list):
        st.session_state[key] = [v for v in value if v in options]
    elif value not in options:
        st.session_state[key] = None if None in options else options[0]


def controls(version: float) -> app_metrics.ExplorerState | None:
    """The pickers; returns the chosen view (None until a metric is picked)."""
    catalog = app_metrics.catalog(version)
    names = list(catalog["name"])
    labels = dict(zip(catalog["name"], catalog["label"], strict=True))
    if "mx_metrics" not in st.session_state:
        restore_from_url(names)
    keep_valid("mx_metrics", names)
    metrics = st.multiselect("Metrics", names, format_func=labels.__getitem__, key="mx_metrics")
    if not metrics:
        st.info("Pick one or more metrics.")
        return None
    describe(catalog, metrics)
    dims = app_metrics.dimensions(version, tuple(metrics))
    categorical = dims[dims["kind"] == "categorical"]
    dim_labels = dict(zip(categorical["name"], categorical["label"], strict=True))
    metric_time = dims[dims["name"] == "metric_time"]
    offered = [g for g in GRAINS if not metric_time.empty and g in metric_time["grains"].iloc[0]]
    fixed = app_metrics.fixed_grains(version, tuple(metrics))
    grains = offered if fixed else [None, *offered]
    for metric, grain_only in fixed.items():
        st.caption(f"{md_escape(labels[metric])} is defined at {grain_only} grain only.")
    left, middle, right = st.columns(3)
    keep_valid("mx_group_by", list(dim_labels))
    group_by = left.multiselect(
        "Group by (valid for every chosen metric)",
        list(dim_labels),
        format_func=dim_labels.__getitem__,
        key="mx_group_by",
    )
    keep_valid("mx_grain", grains)
    grain = middle.selectbox("Time grain", grains, format_func=lambda g: g or "No time axis", key="mx_grain")
    start = right.date_input("From", value=None, key="mx_start")
    end = right.date_input("To", value=None, key="mx_end")
    keep_valid("mx_filter_dim", [None, *dim_labels])
    filter_dim = left.selectbox(
        "Filter on",
        [None, *dim_labels],
        key="mx_filter_dim",
        format_func=lambda n: "No filter" if n is None else dim_labels[n],
    )
    values: list[str] = []
    if filter_dim:
        options = app_metrics.dimension_values(version, warehouse(), metrics[0], filter_dim)
        keep_valid("mx_filter_values", options)
        values = middle.multiselect(
            f"{md_escape(dim_labels[filter_dim])} is one of", options, key="mx_filter_values"
        )
    return app_metrics.ExplorerState(
        metrics=tuple(metrics),
        group_by=tuple(group_by),
        grain=grain,
        filter_dim=filter_dim if values else None,
        filter_values=tuple(values),
        start=start,
        end=end,
    )


def describe(catalog: pd.DataFrame, metrics: list[str]) -> None:
    """Each chosen metric's label, type and description."""
    rows = catalog.set_index("name")
    for metric in metrics:
        row = rows.loc[metric]
        st.caption(
            f"**{md_escape(row['label'])}** ({md_escape(row['type'])}): {md_escape(row['description'])}"
        )


def column_config(frame: pd.DataFrame, catalog: pd.DataFrame, dim_labels: dict[str, str]) -> dict:
    """Readable headers (labels, not internal names) and value formats ($, %, whole numbers)."""
    rows = catalog.set_index("name")
    config: dict = {}
    for column in frame.columns:
        if column in rows.index:
            fmt = app_metrics.value_format(column, rows.loc[column, "type"])
            config[column] = st.column_config.NumberColumn(rows.loc[column, "label"], format=fmt)
        elif column.startswith("metric_time__"):
            config[column] = st.column_config.DatetimeColumn(
                column.rsplit("__", 1)[1].capitalize(), format="YYYY-MM-DD"
            )
        else:
            config[column] = st.column_config.TextColumn(dim_labels.get(column, column.replace("__", " ")))
    return config


def saved_query_section(version: float) -> None:
    """Run one of the saved queries (their filters kept by MetricFlow)."""
    saved = app_metrics.saved_queries(version)
    if saved.empty:
        return
    st.subheader("Saved queries")
    labels = dict(zip(saved["name"], saved["label"], strict=True))
    name = st.selectbox(
        "Saved query",
        [None, *saved["name"]],
        key="mx_saved",
        format_func=lambda n: "Choose a saved query" if n is None else labels[n],
    )
    if name is None:
        return
    st.caption(md_escape(saved.set_index("name").loc[name, "description"]))
    frame, sql = app_metrics.run_saved(version, warehouse(), name)
    catalog = app_metrics.catalog(version)
    st.dataframe(frame, hide_index=True, height=260, column_config=column_config(frame, catalog, {}))
    with st.expander("Saved query SQL"):
        st.code(sql, language="sql")


def chart(
    frame: pd.DataFrame, state: app_metrics.ExplorerState, catalog: pd.DataFrame, dim_labels: dict[str, str]
) -> None:
    """A line over time, bars per group, or headline numbers (axes named by labels)."""
    labels = dict(zip(catalog["name"], catalog["label"], strict=True))
    time_column = f"metric_time__{state.grain}" if state.grain else None
    long = frame.melt(
        id_vars=[c for c in frame.columns if c not in state.metrics],
        value_vars=list(state.metrics),
        var_name="metric",
        value_name="value",
    )
    long["metric"] = long["metric"].map(labels)
    rows = len(state.metrics)
    facet = "metric" if rows > 1 else None  # one panel per metric: each keeps its own scale
    if time_column and time_column in frame.columns:
        figure = px.line(
            long,
            x=time_column,
            y="value",
            color=state.group_by[0] if state.group_by else None,
            facet_row=facet,
            markers=True,
            labels={**dim_labels, time_column: "", "value": ""},
        )
    elif state.group_by:
        figure = px.bar(
            long,
            x=state.group_by[0],
            y="value",
            color=state.group_by[1] if len(state.group_by) > 1 else None,
            barmode="group",
            facet_row=facet,
            labels={**dim_labels, "value": ""},
        )
    else:
        columns = st.columns(len(state.metrics))
        types = dict(zip(catalog["name"], catalog["type"], strict=True))
        for column, metric in zip(columns, state.metrics, strict=True):
            value = frame[metric].iloc[0] if not frame.empty else None
            shown = app_metrics.format_value(value, app_metrics.value_format(metric, types[metric]))
            column.metric(md_escape(labels[metric]), shown)
        return
    figure.update_yaxes(matches=None)
    figure.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    figure.update_layout(margin={"t": 10}, legend_title_text="", height=max(320, 220 * rows))
    st.plotly_chart(figure, width="stretch")


def render() -> None:
    """The page body."""
    st.title("Metrics explorer")
    wh = warehouse()
    version = app_metrics.manifest_version()
    if not version:
        st.info("No semantic manifest yet (`semantic_manifest.json`). Run `make build`.")
        return
    state = controls(version)
    if state is None:
        st.query_params.from_dict({})
        return
    st.query_params.from_dict(app_metrics.state_to_params(state))
    if state.start and state.end and state.start > state.end:
        st.warning("“From” is after “To”: swap the dates.")
        return
    frame, sql = app_metrics.run(version, wh, state)
    catalog = app_metrics.catalog(version)
    widened = app_metrics.whole_periods(state.start, state.end, state.grain)
    if widened:
        first = widened[0].isoformat() if widened[0] else "the start"
        last = widened[1].isoformat() if widened[1] else "the end"
        st.info(f"Values are per whole {state.grain}: the rows cover {first} to {last}, wider than From/To.")
    dims = app_metrics.dimensions(version, state.metrics)
    dim_labels = dict(zip(dims["name"], dims["label"], strict=True))
    if frame.empty:
        st.warning("No rows for this query; widen the date range or the filter.")
    else:
        chart(frame, state, catalog, dim_labels)
    st.dataframe(frame, hide_index=True, height=260, column_config=column_config(frame, catalog, dim_labels))
    left, right = st.columns([1, 3])
    left.download_button(
        "Download CSV",
        csv_bytes(frame),
        file_name="metrics.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )
    right.caption("The address bar holds this view: copy the URL to share it.")
    with st.expander("Generated SQL"):
        st.code(sql, language="sql")
    saved_query_section(version)


guarded(render)
