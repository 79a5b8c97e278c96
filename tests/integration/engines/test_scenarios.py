"""Scenarios asset: built from the engine's declaration (deps on regime and portfolio, checks of both tables),
with its plot and metadata on an engine frame. Materialising it needs the portfolio engine's asset upstream."""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl
import pytest

from prometheus.core.types import Market, Mode
from prometheus.data.schema import Column
from prometheus.engines import pipeline
from prometheus.engines.base import EngineSpec
from prometheus.engines.scenarios import SCENARIOS_SPEC, ScenarioConfig, scenarios_plot_png
from prometheus_assets.engines.scenarios import build_scenarios_assets, scenarios_metadata
from prometheus_assets.partitions import MarketScope

#: Stands in for the Portfolio & Risk engine's declaration until it is registered in ENGINE_SPECS.
PORTFOLIO_STUB = EngineSpec("portfolio", "stub", "target_portfolios", (Column("weight", pl.Float64(), "w"),), ())


def _frame(es: list[float]) -> pl.DataFrame:
    """A scenario_sets-like frame: one set per ES, on sessions 1, 1 and 2 of January 2024."""
    days = [date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 2)]
    return pl.DataFrame({
        "session": days,
        "scenario_set": [f"set{i}" for i in range(len(es))],
        "definition": [{"portfolio_var": 0.8 * e, "portfolio_es": e, "var_level": 0.99} for e in es],
    })  # fmt: skip


def test_asset_when_built_depends_on_regime_and_portfolio_and_checks_both_tables(monkeypatch) -> None:
    if "portfolio" not in pipeline.ENGINE_SPECS:
        monkeypatch.setitem(pipeline.ENGINE_SPECS, "portfolio", PORTFOLIO_STUB)
    cfg = ScenarioConfig(stress_loss_limit=0.1)
    (asset,) = build_scenarios_assets(MarketScope(Market.US_EQ, Mode.BACKTEST), cfg)
    key = dg.AssetKey(["us_eq", SCENARIOS_SPEC.output_table])
    assert asset.key == key
    deps = {k.path[-1] for k in asset.asset_deps[key]}
    assert {"regime_states", "target_portfolios"} <= deps
    checks = {c.name for c in asset.check_specs}
    assert any(c.startswith("scenario_results__") for c in checks)
    assert any(not c.startswith("scenario_results__") for c in checks)


def test_metadata_when_worst_set_es_above_limit_counts_breaches() -> None:
    frame = _frame([0.05, 0.2, 0.08])  # session 1: worst ES 0.2 (breach), session 2: 0.08
    meta = scenarios_metadata(frame, ScenarioConfig(stress_loss_limit=0.1))
    assert meta["sets_generated"] == 3
    assert meta["rebalance_sessions"] == 2
    assert meta["breaches"] == 1
    assert meta["max_worst_es"] == pytest.approx(0.2)
    assert scenarios_metadata(frame, ScenarioConfig())["breaches"] == 0
    assert scenarios_plot_png(frame, "t", 0.1).startswith(b"\x89PNG")
