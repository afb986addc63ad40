"""A partner delivery built for a test: `make share`'s build + export on a fixture warehouse.

Shared by tests/test_share.py and tests/test_share_linkage.py; the partner key is recomputed
here with hashlib, independently of the dbt macros.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from c360 import config
from c360.share.cli import run_share

SALT_A = "test_salt_A_0123456789abcdef"
K = 5


@dataclass
class Delivery:
    """A share build + export on one warehouse with one salt."""

    warehouse: Any
    out_dir: Path
    env: dict[str, str]
    manifest: dict[str, Any]


def partner_key(salt: str, customer_id: str) -> str:
    """The documented key, computed independently: hex SHA-256 of the UTF-8 text salt || customer_id."""
    return hashlib.sha256((salt + customer_id).encode("utf-8")).hexdigest()


def share_env(warehouse: Any, directory: Path, salt: str) -> dict[str, str]:
    """The fixture warehouse's env with our own dbt target dir (its artifacts stay untouched) and salt."""
    return {**warehouse.env, "DBT_TARGET_PATH": str(directory / "target"), "C360_SHARE_SALT": salt}


def deliver(warehouse: Any, directory: Path, salt: str = SALT_A, k: int = K) -> Delivery:
    """Build the share models with `salt` and k, and export them into `directory/out`."""
    env = share_env(warehouse, directory, salt)
    manifest = run_share(directory / "out", k=k, salt_file=directory / "unused_salt_file", env=env)
    return Delivery(warehouse, directory / "out", env, manifest)


REGIONS = {
    "NSW": "NSW/ACT/QLD",
    "ACT": "NSW/ACT/QLD",
    "QLD": "NSW/ACT/QLD",
    "VIC": "VIC/TAS/SA",
    "TAS": "VIC/TAS/SA",
    "SA": "VIC/TAS/SA",
    "WA": "WA/NT",
    "NT": "WA/NT",
}
BROAD_AGE = {
    "18-24": "18-34",
    "25-34": "18-34",
    "35-44": "35-54",
    "45-54": "35-54",
    "55-64": "55+",
    "65+": "55+",
}
BANDED = {"total_spend_band": "total_spend", "order_count_band": "order_count"}
MONTHS = {"last_purchase_month": "last_purchase_date", "acquisition_month": "acquisition_month"}
RELEASED = [
    "gender",
    "state",
    "age_band",
    "last_purchase_month",
    "order_count_band",
    "total_spend_band",
    "rfm_segment",
    "acquisition_month",
]


def mart_bands() -> dict[str, list[float]]:
    """The band edges (`meta.share_bands`) of marts.customers' banded columns, read from its YAML."""
    path = config.DBT_PROJECT_DIR / "models" / "marts" / "_marts__models.yml"
    models = yaml.safe_load(path.read_text(encoding="utf-8"))["models"]
    columns = next(m for m in models if m["name"] == "customers")["columns"]
    return {
        c["name"]: c["config"]["meta"]["share_bands"]
        for c in columns
        if c.get("config", {}).get("meta", {}).get("share") == "band"
    }


def band_names(edges: list[float]) -> list[str]:
    """The documented labels of the bands cut by `edges`: '< e0', '[e0, e1)', ..., '>= en'."""
    return [
        f"< {edges[0]}",
        *(f"[{lo}, {hi})" for lo, hi in zip(edges, edges[1:], strict=False)),
        f">= {edges[-1]}",
    ]


def band_label(values: pd.Series, edges: list[float]) -> pd.Series:
    """The band label (band_names) of each value, 'unknown' for null."""
    names = band_names(edges)
    numbers = pd.to_numeric(values).astype(float)
    index = np.searchsorted(np.asarray(edges, dtype=float), numbers.fillna(0).to_numpy(), side="right")
    return pd.Series(
        np.where(numbers.isna(), "unknown", np.asarray(names, dtype=object)[index]), index=values.index
    )


def _text(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "unknown" if pd.isna(v) else str(v))


def _month(values: pd.Series) -> pd.Series:
    dates = pd.to_datetime(values)
    return pd.Series(np.where(dates.isna(), "unknown", dates.dt.strftime("%Y-%m")), index=values.index)


def admissible_values(customers: pd.DataFrame) -> dict[str, list[pd.Series]]:
    """Per released column, the values a delivered row may show for each warehouse customer:
    the exact generalisation and each coarser level (the partner does not know which level was
    applied; '*' matches anyone). Recomputed in pandas from marts.customers."""
    bands = mart_bands()
    levels: dict[str, list[pd.Series]] = {}
    for column in ("gender", "rfm_segment"):
        levels[column] = [_text(customers[column])]
    state = _text(customers["state"])
    levels["state"] = [state, state.map(lambda s: REGIONS.get(s, "*"))]
    age = _text(customers["age_band"])
    levels["age_band"] = [age, age.map(lambda a: BROAD_AGE.get(a, a))]
    for released, source in MONTHS.items():
        month = _month(customers[source])
        levels[released] = [month, month.map(lambda m: m if m == "unknown" else m[:4])]
    for released, source in BANDED.items():
        edges = bands[source]
        levels[released] = [band_label(customers[source], edges), band_label(customers[source], edges[1::2])]
    return levels


def candidate_matrix(released: pd.DataFrame, levels: dict[str, list[pd.Series]]) -> np.ndarray:
    """Boolean (released rows x customers): customer j is consistent with row i on every released column."""
    match = np.ones((len(released), len(next(iter(levels.values()))[0])), dtype=bool)
    for column, options in levels.items():
        shown = released[column].astype(str).to_numpy()[:, None]
        column_match = np.repeat(shown == "*", match.shape[1], axis=1)
        for option in options:
            column_match |= shown == option.astype(str).to_numpy()[None, :]
        match &= column_match
    return match
