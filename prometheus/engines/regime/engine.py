"""The Regime engine: per session, the market's regime from a walk-forward jump model (or the HMM baseline).

Point in time: the market return of each session is its value as known at that session's own decision time
(:func:`prometheus.data.market_series.market_returns_known`: one read of the run's view, each row resolved at its
session's decision time, the same bits as a read through ``view.at`` that time), i.e. features use each return as
first known. A feature row therefore depends only on data known when its session was decided, late rows and
revisions known afterwards never reach it (the optional cross-section is read the same way, per session, by the
point-in-time panel), and a label at t uses rows up to t only (online filters), with models known before their period.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from datetime import date, datetime, timedelta
from typing import ClassVar

import numpy as np
import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.errors import ConfigError
from prometheus.core.types import Market
from prometheus.data.known_at import decision_times
from prometheus.data.market_series import market_returns_known
from prometheus.data.panel import PointInTimePanel
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.base import Decision, EngineResult, EngineSpec, RunContext
from prometheus.engines.regime.config import RegimeConfig
from prometheus.engines.regime.features import daily_cross_section, regime_features
from prometheus.engines.regime.model import RegimeModel
from prometheus.engines.regime.schema import REGIME_SPEC
from prometheus.engines.regime.walk import History, label_online, period_of, train_model

#: (view, market, sessions, decision times) -> each session's market return as known at its decision time (NaN
#: where none is known); :func:`market_returns_known` is the contract.
ReturnsReader = Callable[[TimeMachine, Market, Sequence[date], Sequence[datetime]], np.ndarray]

#: Most sessions a market holds in one calendar month: bounds how far back a run's refit period starts.
_MAX_SESSIONS_PER_MONTH = 23


class RegimeEngine:
    """Regime engine (see module docstring). The constructor stores parameters only.

    Parameters
    ----------
    config
        The engine config.
    calendar
        Trading calendar: sessions and decision times of the history before the run.
    bar_delay
        Delay after the close at which a session's bar (and decision) is known.
    models
        Fitted models by refit period (e.g. loaded from the model asset); models fitted during a run are added.
    returns
        Reader of the market returns; :func:`market_returns_known` unless a test substitutes one.
    """

    spec: ClassVar[EngineSpec] = REGIME_SPEC

    def __init__(
        self,
        config: RegimeConfig,
        calendar: TradingCalendar,
        bar_delay: timedelta,
        models: MutableMapping[tuple[date, date], RegimeModel] | None = None,
        returns: ReturnsReader = market_returns_known,
    ) -> None:
        self._config = config
        self.calendar = calendar
        self.bar_delay = bar_delay
        self.models = models if models is not None else {}
        self.returns = returns

    @property
    def config(self) -> RegimeConfig:
        """The engine config."""
        return self._config

    @property
    def lookback_sessions(self) -> int:
        """Sessions read before a run: the warm-up before its first refit period, which starts up to
        ``refit_months`` before the run's first session."""
        return self._warmup_sessions + self._config.refit_months * _MAX_SESSIONS_PER_MONTH

    @property
    def _warmup_sessions(self) -> int:
        c = self._config
        return c.train_sessions + c.feature_window + c.online_warmup_sessions

    @property
    def _label_warmup_sessions(self) -> int:
        # A label needs the online filter's warm-up and, behind its first row, one feature window: a feature row
        # depends on the returns of its window only, so a history this long gives the same labels as a longer one.
        return self._config.feature_window + self._config.online_warmup_sessions

    def history(
        self,
        view: TimeMachine,
        market: Market,
        sessions: Sequence[date],
        times: Sequence[datetime],
        warmup_sessions: int | None = None,
    ) -> History:
        """Per-session returns (each as known at its own decision time) and feature rows up to the last session.

        ``sessions`` / ``times`` are the run's; the history before them (``warmup_sessions`` before the start of
        the first session's refit period, by default enough to train its model) gets decision times from the
        calendar.
        """
        cfg = self._config
        period_start = period_of(sessions[0], cfg.refit_months)[0]
        warmup = self._warmup_sessions if warmup_sessions is None else warmup_sessions
        before = self.calendar.sessions_before(market, period_start, warmup)
        earlier = [*before, *(d for d in self.calendar.sessions(market, period_start, sessions[0]) if d < sessions[0])]
        all_sessions = [*earlier, *sessions]
        all_times = [*decision_times(self.calendar, market, earlier, self.bar_delay), *times]
        returns = self.returns(view, market, all_sessions, all_times)
        daily = self._cross_section(view, market, all_sessions, all_times) if cfg.cross_section else None
        return History(all_sessions, regime_features(returns, daily, cfg), returns, all_times)

    def _cross_section(
        self, view: TimeMachine, market: Market, sessions: Sequence[date], times: Sequence[datetime]
    ) -> np.ndarray:
        """Daily cross-section rows of each session from the listed names' returns known at its decision time.

        A market without a panel (a single index series) gets NaN rows; its models then use the market-series
        features alone.
        """
        panel = PointInTimePanel(view, market, sessions, times, sessions, window=1)
        rows = [daily_cross_section(w.returns, self._config.min_cross_section_names)[-1] for w in panel]
        return np.array(rows).reshape(len(sessions), 3)

    def fit_period(self, view: TimeMachine, market: Market, period: tuple[date, date]) -> RegimeModel:
        """Fit (or return the cached) model of one refit period from the history known before it."""
        if period in self.models:
            return self.models[period]
        prior = self.calendar.sessions_before(market, period[0], 1)
        if not prior:
            raise ConfigError(f"no session of {market.value} before {period[0]}", setting="period")
        last = prior[-1]
        times = decision_times(self.calendar, market, [last], self.bar_delay)
        # The history ends at the last session before the period: the model is known after it, never later.
        model = train_model(self.history(view.at(times[0]), market, [last], times), period, self._config)
        self.models[period] = model
        return model

    def run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        """Label every session of ``ctx`` (see the module docstring for the point-in-time rules)."""
        market = Market(str(ctx.market))
        self._check_models()
        periods = {period_of(d, self._config.refit_months) for d in ctx.sessions}
        # With the model of every period at hand (the daily run), nothing is trained: no training window to read.
        warmup = self._label_warmup_sessions if periods <= self.models.keys() else None
        history = self.history(view, market, ctx.sessions, ctx.decision_times, warmup)
        offset = len(history.sessions) - len(ctx.sessions)
        probs, model_ids = label_online(history, list(range(offset, len(history.sessions))), self._config, self.models)
        return self._result(ctx, probs, model_ids)

    def _check_models(self) -> None:
        version = self._config.config_version
        stale = [m.model_id for m in self.models.values() if m.config_version != version]
        if stale:
            raise ConfigError(f"regime models {stale} were fitted with another config", setting="models")

    def _result(self, ctx: RunContext, probs: np.ndarray, model_ids: list[str]) -> EngineResult:
        labels = [label.value for label in self._config.labels]
        states = probs.argmax(axis=1)
        frame = pl.DataFrame(
            {
                "market": [str(ctx.market)] * len(ctx.sessions),
                "session": list(ctx.sessions),
                "decision_time": list(ctx.decision_times),
                "experiment": [ctx.experiment] * len(ctx.sessions),
                "config_version": [ctx.config_version] * len(ctx.sessions),
                "state": states.astype(np.int64),
                "label": [labels[s] for s in states],
                "probabilities": [list(map(float, p)) for p in probs],
                "confidence": probs.max(axis=1).astype(float),
            },
            schema=dict(REGIME_SPEC.schema),
        )
        decisions = tuple(
            Decision(d, t, {"state": int(s), "label": labels[s], "confidence": float(c), "model": mid})
            for d, t, s, c, mid in zip(
                ctx.sessions, ctx.decision_times, states, frame["confidence"], model_ids, strict=True
            )
        )
        return EngineResult(frame, decisions)
