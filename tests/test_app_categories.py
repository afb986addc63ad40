"""30 categories stay readable: top 8 + "Other" in stacked charts, distinct colours for 50+
categories, the legend below the plot with room for every row, heatmaps that grow with rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px

from c360.app.charts import (
    OTHER,
    category_colour_map,
    category_palette,
    heatmap_height,
    legend_below,
    top_with_other,
)
from c360.app.ui import category_colours

CATEGORIES = [f"Department {i:02d}" for i in range(30)]


def _monthly() -> pd.DataFrame:
    rng = np.random.default_rng(13)
    months = pd.date_range("2024-01-01", periods=6, freq="MS")
    rows = [(m, c, float(rng.integers(1, 1000))) for m in months for c in CATEGORIES]
    return pd.DataFrame(rows, columns=["month", "category", "spend"])


def test_palette_is_distinct_for_many_categories() -> None:
    for count in (7, 30, 55, 120):
        palette = category_palette(count)
        assert len(palette) == count == len(set(palette))
    colours = category_colours(CATEGORIES * 2)
    assert len(colours) == 31 and len(set(colours.values())) == 31  # 30 + grey "Other"
    assert category_colour_map(CATEGORIES)[OTHER] not in category_palette(30)


def test_top_eight_plus_other_keeps_every_dollar() -> None:
    trend = _monthly()
    folded = top_with_other(trend, "category", "spend")
    totals = trend.groupby("category")["spend"].sum().sort_values(ascending=False, kind="stable")
    top = set(totals.index[:8])
    assert set(folded["category"]) == top | {OTHER}
    expected = trend.assign(category=trend["category"].where(trend["category"].isin(top), OTHER))
    expected = expected.groupby(["month", "category"], as_index=False)["spend"].sum()
    pd.testing.assert_frame_equal(
        folded.sort_values(["month", "category"]).reset_index(drop=True),
        expected.sort_values(["month", "category"]).reset_index(drop=True),
    )
    few = trend[trend["category"].isin(list(top))]
    assert top_with_other(few, "category", "spend") is few


def test_legend_below_the_chart_with_room_for_every_row() -> None:
    folded = top_with_other(_monthly(), "category", "spend")
    figure = px.bar(
        folded,
        x="month",
        y="spend",
        color="category",
        color_discrete_map=category_colours(folded["category"]),
    )
    legend_below(figure, folded["category"].nunique())
    layout = figure.layout
    assert layout.legend.orientation == "h" and layout.legend.y < 0
    assert layout.margin.b >= 24 * 3  # 9 entries, 4 per row: 3 rows
    colours = {trace.marker.color for trace in figure.data}
    assert len(colours) == len(figure.data) == 9
    tall = legend_below(px.bar(folded, x="month", y="spend", color="category"), 31)
    assert tall.layout.height > layout.height


def test_heatmap_grows_with_rows() -> None:
    assert heatmap_height(30) > heatmap_height(11) > heatmap_height(2)
    assert heatmap_height(30) >= 28 * 30


def test_overview_with_30_categories_shows_top_8_and_other(tmp_path, use_db) -> None:  # noqa: ANN001
    """The Overview's stacked chart on a warehouse with 30 categories: 8 named + Other, every
    dollar of the charted months kept (pandas over the same rows), legend below the plot."""
    import json

    import duckdb
    from app_store import write_duckdb
    from test_app_helpers import PAGES, open_page
    from test_app_support import demo_frames

    path = tmp_path / "c360.duckdb"
    write_duckdb(path, demo_frames(customers=120))
    with duckdb.connect(str(path)) as con:
        # 30 categories: each transaction to one of them by its row number
        con.execute(
            "create or replace table marts.transactions as select * replace ("
            " 'Department ' || lpad(cast(n % 30 as varchar), 2, '0') as category,"
            " 'department_' || lpad(cast(n % 30 as varchar), 2, '0') as category_slug)"
            " from (select *, row_number() over (order by transaction_id) as n from marts.transactions)"
        )
        con.execute("alter table marts.transactions drop column n")
        lines = con.execute("select transaction_date, category, amount from marts.transactions").df()
    use_db(path, metrics=True)
    at = open_page(PAGES[0])
    (chart,) = [c for c in at.get("plotly_chart") if '"barmode"' in c.proto.spec or "bar" in c.proto.spec]
    spec = json.loads(chart.proto.spec)
    names = {trace["name"].split(",")[0] for trace in spec["data"]}
    months = {str(x)[:7] for trace in spec["data"] for x in trace["x"]}
    lines["month"] = pd.to_datetime(lines["transaction_date"]).dt.strftime("%Y-%m")
    charted = lines[lines["month"].isin(months)]
    top = set(charted.groupby("category")["amount"].sum().sort_values(ascending=False).index[:8])
    assert names == top | {OTHER}
    total = sum(float(sum(_values(trace["y"]))) for trace in spec["data"])
    assert abs(total - charted["amount"].sum()) < 1e-6 * max(1.0, charted["amount"].sum())
    assert spec["layout"]["legend"]["orientation"] == "h" and spec["layout"]["legend"]["y"] < 0


def _values(data: object) -> list[float]:
    """Plotly ships arrays as lists or base64 ("bdata") with a dtype."""
    import base64

    if isinstance(data, dict):
        return list(np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]))
    return list(data)  # type: ignore[arg-type]
