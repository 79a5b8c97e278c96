"""The Stability engine: absorption ratio, Delta AR, turbulence and average correlation per market and sector."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from prometheus.calendar import TradingCalendar, get_calendar
from prometheus.data.panel import PanelWindow, PointInTimePanel
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.base import Decision, EngineResult, EngineSpec, RunContext, history_sessions
from prometheus.engines.stability.config import StabilityConfig
from prometheus.engines.stability.schema import MARKET_ROW, SECTOR_PREFIX, STABILITY_SPEC, StabilityComponent
from prometheus.engines.stability.tracker import ScopeTracker, session_measures


class StabilityEngine:
    """Market and sector stability scores; constructor stores parameters only."""

    spec: ClassVar[EngineSpec] = STABILITY_SPEC

    def __init__(self, config: StabilityConfig, calendar: TradingCalendar | None = None) -> None:
        self._config = config
        self.calendar = calendar

    @property
    def config(self) -> StabilityConfig:
        """The engine config."""
        return self._config

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first decision."""
        return self._config.lookback_sessions

    def run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        """Score every session of ``ctx``; sessions before it only warm up the trailing statistics."""
        cfg, cal = self._config, self.calendar or get_calendar()
        days, times = history_sessions(cal, ctx, cfg.series_warmup)
        history = history_sessions(cal, ctx, cfg.series_warmup + cfg.data_window)[0]
        panel = PointInTimePanel(view, ctx.market, days, times, history, cfg.data_window)
        trackers: dict[str, ScopeTracker] = {MARKET_ROW: ScopeTracker(cfg)}
        deciding, rows, thin = set(ctx.sessions), [], 0
        # Many small eigen problems: BLAS threads cost more than they save here.
        with threadpool_limits(limits=1, user_api="blas"):
            for window in panel:
                scored = self._score(window, trackers)
                if window.session not in deciding:
                    continue
                found = [(scope, s, c) for scope, (s, c) in scored.items() if np.isfinite(s)]
                thin += not any(scope == MARKET_ROW for scope, _, _ in found)
                rows.extend(self._row(ctx, window, scope, s, c) for scope, s, c in found)
        frame = pl.DataFrame(rows, schema=dict(self.spec.schema))
        return EngineResult(frame.sort(["session", "instrument"]), self._decisions(frame), self._notes(ctx, thin))

    def _score(self, window: PanelWindow, trackers: dict[str, ScopeTracker]) -> dict[str, tuple[float, dict]]:
        cfg = self._config
        ok = window.complete(cfg.data_window)
        returns, sectors = window.returns[:, ok], window.sectors[ok]
        scopes: dict[str, np.ndarray | None] = {MARKET_ROW: returns if ok.sum() >= cfg.min_names else None}
        if cfg.sectors:
            for sector in sorted(set(sectors) - {""}):
                cols = sectors == sector
                scopes[SECTOR_PREFIX + sector] = returns[:, cols] if cols.sum() >= cfg.min_sector_names else None
        for scope in trackers.keys() - scopes.keys():
            scopes[scope] = None
        out = {}
        for scope, data in scopes.items():
            tracker = trackers.setdefault(scope, ScopeTracker(cfg))
            out[scope] = tracker.update(None if data is None else session_measures(data, cfg))
        return out

    @staticmethod
    def _row(ctx: RunContext, window: PanelWindow, scope: str, score: float, comps: dict) -> dict:
        clean = {k: (float(v) if np.isfinite(v) else None) for k, v in comps.items()}
        return {"market": str(ctx.market), "session": window.session, "decision_time": window.decision_time,
                "experiment": ctx.experiment, "config_version": ctx.config_version, "instrument": scope,
                "score": float(score), "components": clean}  # fmt: skip

    @staticmethod
    def _decisions(frame: pl.DataFrame) -> tuple[Decision, ...]:
        market = frame.filter(pl.col("instrument") == MARKET_ROW)
        out = []
        for row in market.iter_rows(named=True):
            c = row["components"]
            keys = (StabilityComponent.TURBULENT, StabilityComponent.DELTA_AR, StabilityComponent.COMPOSITE)
            payload = {"score": row["score"]} | {str(k): c[k] for k in keys}
            out.append(Decision(row["session"], row["decision_time"], payload))
        return tuple(out)

    def _notes(self, ctx: RunContext, thin: int) -> tuple[str, ...]:
        if not thin:
            return ()
        cfg = self._config
        return (
            f"stability: no market score on {thin} of {len(ctx.sessions)} sessions of {ctx.market}: fewer than "
            f"{cfg.min_names} names with {cfg.data_window} sessions of returns, or fewer than {cfg.min_history} "
            f"sessions of measures behind the score (lookback {cfg.lookback_sessions} sessions)",
        )
