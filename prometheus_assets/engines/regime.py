"""``<market>/regime_model`` (one model per refit year) and ``<market>/regime_states`` (per session).

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from prometheus.calendar import get_calendar
from prometheus.core.types import Market, Mode
from prometheus.data.market_series import market_series
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.regime import (
    RegimeConfig,
    RegimeEngine,
    crisis_plot_png,
    load_history,
    load_models,
    run_regime,
    save_model,
)
from prometheus.engines.runner import EngineRunSummary
from prometheus_assets.engines._common import bar_delay, decision_log, experiment_of, png_markdown, run_metadata
from prometheus_assets.partitions import PARTITIONS_START, partitions_for, sessions_in_window
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource


def _models_root(historical: HistoricalStoreResource) -> Path:
    return Path(historical.data_root) / "models"


def refit_partitions(market: Market) -> dg.TimeWindowPartitionsDefinition:
    """One partition per calendar year: the model labelling that year, trained on the years before it."""
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 1 1 *", fmt="%Y", start=str(PARTITIONS_START.year), timezone=str(get_calendar().tz(market)),
        end_offset=1,
    )  # fmt: skip


def build_regime_assets(market: Market, mode: Mode, config: RegimeConfig | None = None) -> list[dg.AssetsDefinition]:
    """The regime model (partitioned by refit year) and regime states (partitioned by ``partitions_for``)."""
    cfg = config or RegimeConfig()
    if cfg.refit_months != 12:
        raise ValueError("the regime model asset is partitioned by year: refit_months must be 12")
    prefix = market.value.lower()
    model_key = dg.AssetKey([prefix, "regime_model"])
    prices_key = dg.AssetKey([prefix, "prices_adjusted"])

    @dg.asset(
        key=model_key,
        deps=[prices_key],
        partitions_def=refit_partitions(market),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="regime", kinds={"python", "pickle"}, owners=["team:research"], code_version="1",
        description=f"Regime model of {market.value} per refit year, fitted on the history known before the year.",
    )  # fmt: skip
    def regime_model(
        context: dg.AssetExecutionContext, historical: HistoricalStoreResource, calendar: CalendarResource
    ) -> dg.MaterializeResult:
        cal, delay, store = calendar.calendar(), bar_delay(), historical.store()
        fitted = []
        for year in _years(context.partition_time_window):
            period = (date(year, 1, 1), date(year, 12, 31))
            last = cal.sessions(market, period[0] - timedelta(days=10), period[0] - timedelta(days=1))
            view = load_history(store, cal, market, last, cfg, delay)
            model = RegimeEngine(cfg, cal, delay).fit_period(view, market, period)
            save_model(model, _models_root(historical), market)
            fitted.append(model)
        return dg.MaterializeResult(metadata={
            "models": len(fitted), "config_version": cfg.config_version,
            "jump_penalties": str([m.jump_penalty for m in fitted]),
            "state_vol": str([[round(v, 3) for v in m.state_vol] for m in fitted]),
        })  # fmt: skip

    @dg.asset(
        key=[prefix, "regime_states"],
        deps=[model_key, prices_key],
        partitions_def=partitions_for(market, mode),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="regime", kinds={"python", "sql"}, owners=["team:research"], code_version="1",
        description=f"Regime state, label, probabilities and confidence of {market.value} per session.",
    )  # fmt: skip
    def regime_states(
        context: dg.AssetExecutionContext,
        historical: HistoricalStoreResource,
        runtime: RuntimeStoreResource,
        calendar: CalendarResource,
    ) -> dg.MaterializeResult:
        sessions = sessions_in_window(market, context.partition_time_window)
        if not sessions:
            return dg.MaterializeResult(metadata={"sessions": 0})
        cal, delay, store = calendar.calendar(), bar_delay(), historical.store()
        view = load_history(store, cal, market, sessions, cfg, delay)
        engine = RegimeEngine(cfg, cal, delay, models=load_models(_models_root(historical), market, cfg))
        out, summary = run_regime(view, cal, market, sessions, experiment_of(context, mode), cfg, bar_delay=delay,
                                  log=decision_log(runtime), mode=mode.value, engine=engine)  # fmt: skip
        return dg.MaterializeResult(metadata=_metadata(context, out.frame, view, market, summary))

    return [regime_model, regime_states]


def _years(window: dg.TimeWindow) -> list[int]:
    return list(range(window.start.year, (window.end - timedelta(days=1)).year + 1))


def _metadata(
    context: dg.AssetExecutionContext, frame: pl.DataFrame, view: TimeMachine, market: Market, summary: EngineRunSummary
) -> dict:
    sessions = frame["session"].to_list()
    series = market_series(view, market, sessions[0], sessions[-1])
    returns = frame.select("session").join(series, left_on="session", right_on="date", how="left")["market_return"]
    png = crisis_plot_png(frame, returns.to_numpy(), f"{market.value} regime")
    return {
        **run_metadata(context, summary),
        "crisis_share": float((frame["label"] == "crisis").mean()),
        "plot": png_markdown(png, "crisis probability"),
    }
