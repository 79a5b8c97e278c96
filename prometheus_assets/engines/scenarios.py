"""``<market>/scenario_sets`` (and ``scenario_results``): scenario sets and the target portfolio's stress P&L on
rebalance sessions."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from prometheus.data.checks import CheckName
from prometheus.engines.scenarios import (
    SCENARIO_RESULTS,
    SCENARIOS_SPEC,
    ScenarioConfig,
    ScenarioPathStore,
    ScenariosEngine,
    scenarios_plot_png,
    worst_set_by_session,
)
from prometheus.engines.scenarios.checks import tails_check
from prometheus_assets.engines.kit import EngineAsset, build_engine_asset
from prometheus_assets.partitions import MarketScope


def scenarios_metadata(frame: pl.DataFrame, cfg: ScenarioConfig) -> Mapping[str, Any]:
    """Sets generated, rebalance sessions, and the sessions whose worst-set ES breaches the stress loss limit."""
    worst = worst_set_by_session(frame)
    limit = cfg.stress_loss_limit
    breaches = int((worst["es"] > limit).sum()) if limit is not None and worst.height else 0
    return {
        "sets_generated": frame.height,
        "rebalance_sessions": frame["session"].n_unique() if frame.height else 0,
        "breaches": breaches,
        "max_worst_es": float(worst["es"].max()) if worst.height else 0.0,  # type: ignore[arg-type]
    }


def build_scenarios_assets(scope: MarketScope, config: ScenarioConfig | None = None) -> list[dg.AssetsDefinition]:
    """The scenario sets (with their results) of ``scope.market``, partitioned by the scope's partitions."""
    cfg = config or ScenarioConfig()
    asset = EngineAsset(
        spec=SCENARIOS_SPEC,
        config=cfg,
        build=lambda cal, delay, historical: ScenariosEngine(
            cfg, cal, delay, paths=ScenarioPathStore(Path(historical.data_root) / "lake")
        ),
        plot=lambda frame, view, m: scenarios_plot_png(
            frame, f"{m.value} scenarios: VaR / ES of the worst set", cfg.stress_loss_limit
        ),
        metadata=lambda frame, view, m, up: scenarios_metadata(frame, cfg),
        checks=((CheckName.TAILS, lambda frame, extra: tails_check(extra[SCENARIO_RESULTS.table])),),
        # The regime bootstrap draws from the labels of the whole history window, not only the partition's.
        upstream_history=("regime",),
    )
    return [build_engine_asset(scope, asset)]
