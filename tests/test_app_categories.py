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
