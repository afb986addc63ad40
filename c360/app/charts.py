"""Chart helpers that keep many categories readable (a retailer's 30 departments, not 7).

`category_palette` gives distinct colours for any number of categories, `top_with_other` folds
all but the largest categories of a stacked chart into "Other", `legend_below` puts the legend
under the plot with room for all its rows, and `heatmap_height` grows a heatmap with its rows.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

OTHER = "Other"
OTHER_COLOUR = "#9e9e9e"
TOP_CATEGORIES = 8
GOLDEN_RATIO = 0.618033988749895


def _base_palette() -> list[str]:
    """Plotly's qualitative palettes, in order, without repeats (lower-case hex)."""
    seen: list[str] = []
    for name in ("Plotly", "D3", "G10", "T10", "Alphabet", "Dark24", "Light24"):
        for colour in getattr(px.colors.qualitative, name):
            value = colour.lower()
            if value.startswith("#") and value not in seen and value != OTHER_COLOUR:
                seen.append(value)
    return seen


def category_palette(count: int) -> list[str]:
    """`count` distinct colours: Plotly's qualitative palettes (~80), then golden-ratio hues."""
    palette = _base_palette()[:count]
    hue = 0.0
    while len(palette) < count:
        hue = (hue + GOLDEN_RATIO) % 1.0
        lightness = (0.35, 0.5, 0.65)[len(palette) % 3]
        red, green, blue = colorsys.hls_to_rgb(hue, lightness, 0.65)
        colour = f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"
        if colour not in palette and colour != OTHER_COLOUR:
            palette.append(colour)
    return palette


def category_colour_map(categories: Iterable[str]) -> dict[str, str]:
    """The same colour for a category on every chart (assigned in name order); "Other" is grey."""
    names = sorted({name for name in categories if name != OTHER})
    return {**dict(zip(names, category_palette(len(names)), strict=True)), OTHER: OTHER_COLOUR}


def top_with_other(
    frame: pd.DataFrame, category: str, value: str, top: int = TOP_CATEGORIES, other: str = OTHER
) -> pd.DataFrame:
    """`frame` with every category outside the `top` largest (by total `value`) renamed `other`
    and summed per remaining group (all other columns); unchanged with `top` or fewer categories."""
    totals = frame.groupby(category, observed=True)[value].sum().sort_values(ascending=False, kind="stable")
    if len(totals) <= top:
        return frame
    keep = set(totals.index[:top])
    folded = frame.assign(**{category: frame[category].where(frame[category].isin(keep), other)})
    keys = [c for c in frame.columns if c != value]
    return folded.groupby(keys, as_index=False, observed=True, dropna=False)[value].sum()


def legend_below(figure: go.Figure, entries: int, per_row: int = 4, plot_height: int = 360) -> go.Figure:
    """Horizontal legend under the plot, the figure made tall enough for all its rows."""
    rows = max(1, -(-entries // per_row))
    legend_px = 24 * rows + 40
    figure.update_layout(
        legend={
            "orientation": "h",
            "yanchor": "top",
            "y": -0.12,
            "xanchor": "left",
            "x": 0,
            "title_text": "",
        },
        height=plot_height + legend_px,
        margin={"t": 10, "b": legend_px},
    )
    return figure


def heatmap_height(rows: int, row_px: int = 28, base_px: int = 160, minimum: int = 300) -> int:
    """Pixel height for a heatmap of `rows` rows: every row stays readable."""
    return max(minimum, base_px + row_px * rows)
