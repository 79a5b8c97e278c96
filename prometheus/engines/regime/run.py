"""Library entry point of the Regime engine: load history, run under the contract, log decisions."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from prometheus.calendar import TradingCalendar
from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.engines.base import RunContext, decision_times
from prometheus.engines.regime.config import RegimeConfig
from prometheus.engines.regime.engine import RegimeEngine
from prometheus.engines.regime.model import RegimeModel
from prometheus.engines.runner import EngineOutput, EngineRunSummary, run_engine
from prometheus.runtime.decision_log import DecisionLog

#: Historical tables the market series reads.
REGIME_INPUT_TABLES: tuple[Table, ...] = (
    Table.MARKETS,
    Table.INSTRUMENTS,
    Table.PRICES_ADJUSTED,
    Table.MACRO_OBSERVATIONS,
)


def load_history(
    store: HistoricalStore, calendar: TradingCalendar, market: Market, sessions: Sequence[date],
    config: RegimeConfig, bar_delay: timedelta,
) -> TimeMachine:  # fmt: skip
    """A view at the last decision time of ``sessions`` over the tables (and lookback) the engine reads."""
    last = decision_times(calendar, market, [sessions[-1]], bar_delay)[0]
    engine = RegimeEngine(config, calendar, bar_delay)
    start = sessions[0] - timedelta(days=int(engine.lookback_sessions * 1.5) + 400)
    snapshot = HistorySnapshot.load(store, REGIME_INPUT_TABLES, known_until=last, market=market, start=start)
    return TimeMachine(snapshot, last)


def run_regime(
    view: TimeMachine,
    calendar: TradingCalendar,
    market: Market,
    sessions: Sequence[date],
    experiment: str,
    config: RegimeConfig,
    *,
    bar_delay: timedelta,
    log: DecisionLog | None = None,
    mode: str = "BACKTEST",
    engine: RegimeEngine | None = None,
) -> tuple[EngineOutput, EngineRunSummary]:
    """Run the Regime engine over ``sessions`` (increasing) of ``market`` and record it in ``log`` when given.

    Raises
    ------
    DataError
        No sessions, or not enough history before the first refit period.
    """
    if not sessions:
        raise DataError(f"regime: no sessions of {market.value} to run", field="sessions")
    times = decision_times(calendar, market, sessions, bar_delay)
    ctx = RunContext(market, tuple(sessions), times, experiment, config_version="")
    engine = engine or RegimeEngine(config, calendar, bar_delay)
    return run_engine(engine, view, ctx, log=log, mode=mode)


def model_path(root: Path, market: Market, config_version: str, period: tuple[date, date]) -> Path:
    """Where the model of ``period`` is kept: ``<root>/regime/<market>/<version[:16]>/<start>_<end>.pkl``."""
    return root / "regime" / market.value.lower() / config_version[:16] / f"{period[0]}_{period[1]}.pkl"


def save_model(model: RegimeModel, root: Path, market: Market) -> Path:
    """Write ``model`` atomically (temporary file, then rename); returns its path."""
    path = model_path(root, market, model.config_version, (model.period_start, model.period_end))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(model))
    tmp.replace(path)
    return path


def load_models(root: Path, market: Market, config: RegimeConfig) -> dict[tuple[date, date], RegimeModel]:
    """Models saved for ``config``'s version, by period (files are ours: written by :func:`save_model`)."""
    folder = model_path(root, market, config.config_version, (date.min, date.min)).parent
    models: dict[tuple[date, date], RegimeModel] = {}
    for path in sorted(folder.glob("*.pkl")):
        model = pickle.loads(path.read_bytes())  # noqa: S301 - files written by save_model only
        models[(model.period_start, model.period_end)] = model
    return models
