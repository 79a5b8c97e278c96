"""Runtime store schema: one ``MetaData`` holding every table (SQLAlchemy Core, no ORM)."""

from __future__ import annotations

from prometheus.runtime.tables.base import NAMING_CONVENTION, UTCDateTime, metadata
from prometheus.runtime.tables.engine import (
    assessments,
    backtest_daily,
    backtest_runs,
    decision_outcomes,
    engine_configs,
    engine_decisions,
    engine_runs,
    fragility_scores,
    regime_states,
    risk_reports,
    scenario_results,
    scenario_sets,
    stability_scores,
    target_portfolios,
    universe_members,
)
from prometheus.runtime.tables.execution import (
    cash,
    fills,
    order_events,
    orders,
    positions,
    risk_rejections,
    risk_state,
)
from prometheus.runtime.tables.meta import alerts, config_promotions, kronos_proposals, kronos_reports, market_states

__all__ = [
    "NAMING_CONVENTION",
    "UTCDateTime",
    "alerts",
    "assessments",
    "backtest_daily",
    "backtest_runs",
    "cash",
    "decision_outcomes",
    "engine_configs",
    "engine_decisions",
    "engine_runs",
    "fills",
    "fragility_scores",
    "config_promotions",
    "kronos_proposals",
    "kronos_reports",
    "market_states",
    "metadata",
    "order_events",
    "orders",
    "positions",
    "regime_states",
    "risk_rejections",
    "risk_reports",
    "risk_state",
    "scenario_results",
    "scenario_sets",
    "stability_scores",
    "target_portfolios",
    "universe_members",
]
