"""``<market>/target_portfolios`` (with ``risk_reports`` beside it): target weights and ex-ante risk per session.

The portfolio depends on its own previous partition: before a run, the kit's ``prepare`` hook reads the experiment's
target of the session before the partition from the decision log and hands it to the engine as ``previous``, so a
backfill walks the book across partitions as one run would. The first partition (no target before it) starts from
cash and the turnover cap paces the build-up. A PAPER/LIVE daily run will hand the engine the broker's holdings
instead (issues 20/22).

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

import dagster as dg
import polars as pl

from prometheus.calendar import TradingCalendar, get_calendar
from prometheus.core.types import Market, Mode
from prometheus.data.checks import CheckName
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.base import EngineResult, EngineSpec, RunContext
from prometheus.engines.portfolio.checks import limits_check
from prometheus.engines.portfolio.config import PortfolioConfig
from prometheus.engines.portfolio.engine import PortfolioEngine
from prometheus.engines.portfolio.plot import book_by_session, portfolio_plot_png
from prometheus.engines.portfolio.schema import PORTFOLIO_SPEC
from prometheus.meta.kronos import active_config
from prometheus.runtime.decision_log import DecisionLog
from prometheus_assets.engines.kit import EngineAsset, build_engine_asset
from prometheus_assets.partitions import MarketScope


class _Recorded:
    """The engine, keeping the decisions of its last run for the asset's metadata (status counts)."""

    spec: ClassVar[EngineSpec] = PORTFOLIO_SPEC

    def __init__(self, engine: PortfolioEngine, sink: dict[str, Any]) -> None:
        self._engine, self._sink = engine, sink

    @property
    def config(self) -> PortfolioConfig:
        return self._engine.config

    @property
    def lookback_sessions(self) -> int:
        return self._engine.lookback_sessions

    def run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        result = self._engine.run(view, ctx, upstream)
        self._sink["decisions"] = result.decisions
        return result


def portfolio_metadata(frame: pl.DataFrame, decisions: tuple | None) -> dict[str, Any]:
    """Optimiser statuses by count (fallbacks included), mean one-way turnover, mean gross and names."""
    per = book_by_session(frame)
    out: dict[str, Any] = {
        "mean_turnover": float(per["turnover"].mean() or 0.0) if per.height > 1 else 0.0,
        "mean_gross": float(per["gross"].mean() or 0.0) if per.height else 0.0,
        "mean_names": float(per["names"].mean() or 0.0) if per.height else 0.0,
    }
    if decisions is None:
        out["statuses"] = "reused (see engine_decisions)"
    else:
        statuses = [str(d.payload["status"]) for d in decisions]
        out["statuses"] = dg.MetadataValue.json({s: statuses.count(s) for s in sorted(set(statuses))})
        out["fallback_sessions"] = sum(d.payload.get("fallback") is not None for d in decisions)
    return out


def previous_target(
    log: DecisionLog, calendar: TradingCalendar, market: Market, experiment: str, first: date
) -> pl.DataFrame | None:
    """The experiment's target (``instrument``, ``weight``) of the session before ``first``; None when there is
    none, or when several config versions decided it (a changed chain: start from cash rather than guess)."""
    prior = calendar.sessions_before(market, first, 1)
    if not prior:
        return None
    frame = log.read_output(PORTFOLIO_SPEC.output_table, PORTFOLIO_SPEC.schema, market=market.value,
                            experiment=experiment, sessions=prior)  # fmt: skip
    if frame.is_empty() or frame["config_version"].n_unique() != 1:
        return None
    return frame.select("instrument", "weight")


def portfolio_config_for(
    log: DecisionLog, mode: Mode, market: Market, session: date, default: PortfolioConfig
) -> PortfolioConfig:
    """The config the portfolio runs with for ``session``: in PAPER/LIVE the one promoted for it (an approved
    Kronos proposal, ``config_promotions``), else ``default``. A backtest always takes ``default`` (its configs
    come from the experiment)."""
    if mode is Mode.BACKTEST:
        return default
    found = active_config(log.store, PORTFOLIO_SPEC.name, market, mode, session)
    return PortfolioConfig.from_mapping(found, source="config_promotions") if found is not None else default


def build_portfolio_assets(scope: MarketScope, config: PortfolioConfig | None = None) -> list[dg.AssetsDefinition]:
    """The target portfolios and risk reports of ``scope.market``, partitioned by the scope's partitions."""
    cfg = config or PortfolioConfig()
    sink: dict[str, Any] = {}

    def build(cal, delay, historical):  # noqa: ANN001, ANN202 - the kit's EngineFactory signature
        sink.clear()  # a reused run leaves no decisions: say so rather than report the previous run's
        return _Recorded(PortfolioEngine(cfg, cal, delay), sink)

    def prepare(engine, log, market, experiment, first):  # noqa: ANN001, ANN202 - the kit's prepare signature
        inner = engine._engine
        config = portfolio_config_for(log, scope.mode, market, first, cfg)
        previous = previous_target(log, inner.calendar or get_calendar(), market, experiment, first)
        if previous is None and config is cfg:
            return engine
        return _Recorded(PortfolioEngine(config, inner.calendar, inner.bar_delay, previous=previous), sink)

    asset = EngineAsset(
        spec=PORTFOLIO_SPEC,
        config=cfg,
        build=build,
        prepare=prepare,
        checks=((CheckName.LIMITS, lambda frame, extra: limits_check(frame, cfg.limits)),),
        plot=lambda frame, view, m: portfolio_plot_png(frame, f"{m.value} portfolio: exposure and names"),
        metadata=lambda frame, view, m, upstream: portfolio_metadata(frame, sink.get("decisions")),
    )
    return [build_engine_asset(scope, asset)]
