"""``<market>/regime_model`` (one model per refit year) and ``<market>/regime_states`` (per session).

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl

from prometheus.core.types import Market
from prometheus.data.market_series import market_series
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.model_reuse import invalidate, reusable, write_fingerprint
from prometheus.engines.periods import periods_starting_in
from prometheus.engines.regime import (
    REGIME_SPEC,
    RegimeConfig,
    RegimeEngine,
    crisis_plot_png,
    load_models,
    save_model,
)
from prometheus.engines.regime.models import model_path
from prometheus.engines.runner import history_view
from prometheus_assets.engines._common import bar_delay
from prometheus_assets.engines.kit import EngineAsset, build_engine_asset, engine_deps
from prometheus_assets.metadata import table_preview
from prometheus_assets.partitions import MarketScope
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource

MODEL_ASSET = "regime_model"


def _models_root(historical: HistoricalStoreResource) -> Path:
    return Path(historical.data_root) / "models"


def build_regime_assets(scope: MarketScope, config: RegimeConfig | None = None) -> list[dg.AssetsDefinition]:
    """The regime model (one partition per refit period) and regime states (the scope's partitions)."""
    cfg, market = config or RegimeConfig(), scope.market
    states = EngineAsset(
        spec=REGIME_SPEC,
        config=cfg,
        build=lambda cal, delay, historical: RegimeEngine(
            cfg, cal, delay, models=load_models(_models_root(historical), market, cfg)
        ),
        plot=lambda frame, view, m: _crisis_plot(frame, view, m),
        metadata=lambda frame, view, m, up: {
            "crisis_share": float((frame["label"] == "crisis").mean()) if frame.height else 0.0
        },
        extra_deps=(MODEL_ASSET,),
    )
    model_deps = [k for k in engine_deps(scope, states) if k.path[-1] != MODEL_ASSET]

    @dg.asset(
        key=scope.key(MODEL_ASSET),
        deps=model_deps,
        partitions_def=scope.periods(cfg.refit_months),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=scope.prefix, tags=scope.tags("models") | {"prometheus/engine": REGIME_SPEC.name},
        kinds={"python", "pickle"}, owners=["team:research"],
        code_version=cfg.config_version,
        description=f"Regime model of {market.value} per refit year, fitted on the history known before the year.",
    )  # fmt: skip
    def regime_model(
        context: dg.AssetExecutionContext, historical: HistoricalStoreResource, calendar: CalendarResource
    ) -> dg.MaterializeResult:
        cal, delay, store, root = calendar.calendar(), bar_delay(), historical.store(), _models_root(historical)
        fitted, reused, saved = [], 0, load_models(root, market, cfg)
        for period in _periods(context.partition_time_window, cfg):
            # A model fitted on the same data (same config, same lake files up to the period) is kept: a second
            # experiment that changes only the portfolio does not refit it (prometheus.engines.model_reuse).
            path = model_path(root, market, cfg.config_version, period)
            fingerprint = store.fingerprint(REGIME_SPEC.inputs, until=period[0])
            if period in saved and reusable(path, fingerprint):
                fitted.append(saved[period])
                reused += 1
                continue
            invalidate(path)
            engine = RegimeEngine(cfg, cal, delay)
            view = history_view(store, cal, market, cal.sessions_before(market, period[0], 1), [engine], delay)
            model = engine.fit_period(view, market, period)
            write_fingerprint(save_model(model, root, market), fingerprint)
            fitted.append(model)
        models = pl.DataFrame(
            {"period_start": [m.period_start for m in fitted], "jump_penalty": [m.jump_penalty for m in fitted],
             "state_vol": [", ".join(f"{v:.3f}" for v in m.state_vol) for m in fitted]},
            schema={"period_start": pl.Date(), "jump_penalty": pl.Float64(), "state_vol": pl.String()},
        )  # fmt: skip
        return dg.MaterializeResult(
            metadata={
                "models": len(fitted),
                "reused": reused,
                "config_version": cfg.config_version,
                "fitted": table_preview(models),
            }  # fmt: skip
        )

    return [regime_model, build_engine_asset(scope, states)]


def _periods(window: dg.TimeWindow, cfg: RegimeConfig) -> list[tuple[date, date]]:
    """The refit periods starting in ``window``."""
    return periods_starting_in(window.start.date(), (window.end - timedelta(days=1)).date(), cfg.refit_months)


def _crisis_plot(frame: pl.DataFrame, view: TimeMachine, market: Market) -> bytes:
    if frame.is_empty():
        return crisis_plot_png(frame, np.empty(0), f"{market.value} regime")
    sessions = frame["session"].to_list()
    series = market_series(view, market, sessions[0], sessions[-1])
    returns = frame.select("session").join(series, left_on="session", right_on="date", how="left")["market_return"]
    return crisis_plot_png(frame, returns.to_numpy(), f"{market.value} regime")
