"""Every Overview KPI equals the same metric through `python -m c360.metrics.mf query` (the
`make mf` path, the real MetricFlow CLI), on DuckDB and Postgres: one definition per number.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from c360.app import data as app_data
from c360.app import metrics as app_metrics
from c360.warehouse import Warehouse as ExecTarget
from tests.conftest import Warehouse
from tests.metrics_warehouses import ENGINES, run_mf, source_warehouse

# Periods of the Overview's radio: rolling, to-date and full-month windows.
PERIODS = ("Last 30 days", "Quarter to date", "Last full month")


def mf_query(
    warehouse: Warehouse, target_path: Path, metrics: list[str], out: Path, window: tuple[str, str] | None
) -> pd.Series:
    """One row of `mf query --metrics ...` (optionally over --start-time/--end-time) via the wrapper."""
    args = ["query", "--metrics", ",".join(metrics), "--decimals", "10", "--csv", str(out)]
    if window is not None:
        args += ["--start-time", window[0], "--end-time", window[1]]
    run_mf(warehouse, target_path, args)
    frame = pd.read_csv(out)
    assert len(frame) == 1, frame
    return frame.iloc[0]


@pytest.mark.parametrize("engine", ENGINES)
def test_overview_kpis_equal_mf_query(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = source_warehouse(request, engine)
    for key, value in warehouse.env.items():
        monkeypatch.setenv(key, value)
    app_metrics.period_kpis.clear()
    app_metrics.customer_totals.clear()
    wh = ExecTarget.from_env()
    manifest = app_metrics.manifest_version()
    assert manifest > 0
    span = app_data.transaction_date_range(wh)
    assert span is not None
    mf_target = tmp_path / "mf_target"  # the wrapper parses here, not into the fixture's target
    compared = 0
    for label in PERIODS:
        period = app_data.period_window(label, span[1])
        kpis = app_metrics.period_kpis(manifest, wh, period)
        for row, start, end in (
            ("current", period.start, period.end),
            ("previous", period.previous_start, period.previous_end),
        ):
            window = (start.isoformat(), dt.datetime.combine(end, dt.time.max).isoformat())
            out = tmp_path / f"{label.replace(' ', '_')}_{row}.csv"
            cli = mf_query(warehouse, mf_target, list(app_metrics.KPI_METRICS), out, window)
            for metric in app_metrics.KPI_METRICS:
                app_value = kpis.loc[row, metric]
                assert app_value == pytest.approx(float(cli[metric]), rel=1e-9), (label, row, metric)
                compared += app_value > 0
    assert compared >= 4 * len(PERIODS)
    totals = app_metrics.customer_totals(manifest, wh)
    cli = mf_query(
        warehouse, mf_target, ["customer_count", "purchasing_customers"], tmp_path / "totals.csv", None
    )
    assert (totals["customers"], totals["buyers"]) == (
        int(cli["customer_count"]),
        int(cli["purchasing_customers"]),
    )
    assert 0 < totals["buyers"] < totals["customers"]
