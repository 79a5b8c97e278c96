"""The Stability engine: absorption ratio, Delta AR, turbulence and average correlation per market and sector."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import ClassVar

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from prometheus.calendar import TradingCalendar, get_calendar
from prometheus.core.time import to_utc
from prometheus.data.panel import PanelWindow, PointInTimePanel
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.base import Decision, EngineResult, EngineSpec, RunContext, history_sessions
from prometheus.engines.stability.checkpoint import CheckpointStore, StabilityCheckpoint
from prometheus.engines.stability.config import StabilityConfig
from prometheus.engines.stability.schema import MARKET_ROW, SECTOR_PREFIX, STABILITY_SPEC, StabilityComponent
from prometheus.engines.stability.tracker import ScopeTracker, session_measures


class StabilityEngine:
    """Market and sector stability scores; constructor stores parameters only."""

    spec: ClassVar[EngineSpec] = STABILITY_SPEC

    def __init__(
        self,
        config: StabilityConfig,
        calendar: TradingCalendar | None = None,
        checkpoints: CheckpointStore | None = None,
    ) -> None:
        self._config = config
        self.calendar = calendar
        #: Where the rolling state is resumed from and saved to; None: every run replays its warm-up.
        self.checkpoints = checkpoints
        #: Session of the checkpoint the last run resumed from (None: it replayed the warm-up); diagnostics.
        self.resumed_from: date | None = None

    @property
    def config(self) -> StabilityConfig:
        """The engine config."""
        return self._config

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first decision."""
        return self._config.lookback_sessions

    def run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        """Score every session of ``ctx``; sessions before it only warm up the trailing statistics (or a valid
        checkpoint stands in for them)."""
        cfg, cal = self._config, self.calendar or get_calendar()
        days, times = history_sessions(cal, ctx, cfg.series_warmup)
        history = history_sessions(cal, ctx, cfg.series_warmup + cfg.data_window)[0]
        trackers, start = self._resume(view, ctx, days, times)
        panel = PointInTimePanel(view, ctx.market, days[start:], times[start:], history, cfg.data_window)
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
        if self.checkpoints is not None:
            state = {scope: tracker.state() for scope, tracker in trackers.items()}
            self.checkpoints.save(StabilityCheckpoint(str(ctx.market), cfg.config_version, days[-1], times[-1], state))
        frame = pl.DataFrame(rows, schema=dict(self.spec.schema))
        return EngineResult(frame.sort(["session", "instrument"]), self._decisions(frame), self._notes(ctx, thin))

    def _resume(
        self, view: TimeMachine, ctx: RunContext, days: list[date], times: list[datetime]
    ) -> tuple[dict[str, ScopeTracker], int]:
        """Trackers and the index in ``days`` to run from: after a valid checkpoint, else empty from the start."""
        cfg, self.resumed_from = self._config, None
        fresh: dict[str, ScopeTracker] = {MARKET_ROW: ScopeTracker(cfg)}
        if self.checkpoints is None:
            return fresh, 0
        found = self.checkpoints.latest_before(str(ctx.market), cfg.config_version, ctx.sessions[0])
        if found is None or found.session not in days:
            return fresh, 0
        k = days.index(found.session)
        # Same decision time (the same bar delay), and nothing it covers became known after it was computed.
        if to_utc(found.known_at) != to_utc(times[k]) or self._late_since(view, ctx, found.session, times[k]):
            return fresh, 0
        try:
            trackers = {scope: ScopeTracker.from_state(cfg, state) for scope, state in found.state.items()}
        except ValueError:
            return fresh, 0
        if MARKET_ROW not in trackers:
            return fresh, 0
        self.resumed_from = found.session
        return trackers, k + 1

    @staticmethod
    def _late_since(view: TimeMachine, ctx: RunContext, session: date, known_at: datetime) -> bool:
        """Whether an input row dated at or before ``session`` became known after ``known_at`` (a late row or a
        revision): the checkpoint may then hold values a fresh run would not compute, so it is not used."""
        for table in STABILITY_SPEC.inputs:
            rows = view.revisions(table, market=ctx.market, end=session, columns=["date", "known_at"])
            if not rows.filter(pl.col("known_at") > known_at).is_empty():
                return True
        return False

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
