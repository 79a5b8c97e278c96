"""The Universe engine: point-in-time screens, dollar-volume rank with hysteresis, capacity, entries and exits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import ClassVar

import numpy as np
import polars as pl

from prometheus.calendar import TradingCalendar, get_calendar
from prometheus.data.panel import PanelWindow, PointInTimePanel
from prometheus.data.schema import Table
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.base import Decision, EngineResult, EngineSpec, RunContext, history_sessions
from prometheus.engines.universe.config import UniverseConfig
from prometheus.engines.universe.membership import Row, Screened, screen, step
from prometheus.engines.universe.schema import MEMBER_REASONS, UNIVERSE_SPEC, UniverseReason


class Quarantine:
    """Quarantined bars (symbol, session) with the instant QC rejected them; ``quarantine`` is not point in time,
    so each session sees only the rows ingested by its decision time."""

    def __init__(self, frame: pl.DataFrame) -> None:
        f = frame.filter(pl.col("symbol").is_not_null() & pl.col("date").is_not_null())
        self._symbols = f["symbol"].to_numpy().astype(str)
        self._dates = f["date"].to_numpy().astype("datetime64[D]")
        self._at = f["ingested_at"].dt.convert_time_zone("UTC").dt.replace_time_zone(None).to_numpy()

    def mask(self, window: PanelWindow, rows: int) -> np.ndarray:
        """Names of ``window`` with a bar of its last ``rows`` sessions quarantined by its decision time."""
        t = np.datetime64(window.decision_time.astimezone(UTC).replace(tzinfo=None), "us")
        hit = (self._dates >= window.dates[-rows:][0]) & (self._dates <= window.dates[-1]) & (self._at <= t)
        return np.isin(window.symbols, self._symbols[hit])


class UniverseEngine:
    """The tradable universe per session; constructor stores parameters only."""

    spec: ClassVar[EngineSpec] = UNIVERSE_SPEC

    def __init__(self, config: UniverseConfig, calendar: TradingCalendar | None = None) -> None:
        self._config = config
        self.calendar = calendar

    @property
    def config(self) -> UniverseConfig:
        """The engine config."""
        return self._config

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first decision."""
        return self._config.lookback_sessions

    def run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        """Decide every session of ``ctx``, walking ``warmup_sessions`` before it from an empty universe.

        Membership carries from session to session (hysteresis), so the warm-up sessions are decided too, each
        from the data known at its own decision time, and only the sessions of ``ctx`` are returned.
        """
        cfg, cal = self._config, self.calendar or get_calendar()
        days, times = history_sessions(cal, ctx, cfg.warmup_sessions)
        history = history_sessions(cal, ctx, cfg.warmup_sessions + cfg.data_window)[0]
        panel = PointInTimePanel(view, ctx.market, days, times, history, cfg.data_window)
        quarantine = Quarantine(view.table(Table.QUARANTINE, market=ctx.market, start=history[0], end=days[-1]))
        deciding, members, rows, decisions = set(ctx.sessions), frozenset[str](), [], []
        for window in panel:
            screened = screen(window.session, window.symbols, window.dollar_volume, window.close,
                              window.delisted, quarantine.mask(window, cfg.qc_window), cfg)  # fmt: skip
            previous = members
            members, found = step(previous, screened, cfg)
            if window.session in deciding:
                rows.extend(self._row(ctx, window, r) for r in found)
                decisions.append(self._decision(window, previous, members, found, screened))
        frame = pl.DataFrame(rows, schema=dict(self.spec.schema))
        return EngineResult(frame.sort(["session", "instrument"]), tuple(decisions), self._notes(ctx, decisions))

    def _row(self, ctx: RunContext, window: PanelWindow, r: Row) -> dict:
        member = r.reason in MEMBER_REASONS and r.median_dollar_volume is not None
        capacity = self._config.participation * r.median_dollar_volume if member else None
        return {"market": str(ctx.market), "session": window.session, "decision_time": window.decision_time,
                "experiment": ctx.experiment, "config_version": ctx.config_version, "instrument": r.instrument,
                "rank": r.rank, "reason": str(r.reason), "median_dollar_volume": r.median_dollar_volume,
                "capacity": capacity}  # fmt: skip

    @staticmethod
    def _decision(
        window: PanelWindow, previous: frozenset[str], members: frozenset[str], found: list[Row], s: Screened
    ) -> Decision:
        entered = sum(r.reason == UniverseReason.ENTERED for r in found)
        exits = {str(reason): sum(r.reason == reason for r in found) for reason in UniverseReason}
        exited = len(previous - members)
        size = len(previous) + len(members)
        payload = {
            "members": len(members),
            "entered": entered,
            "exited": exited,
            # Two-sided: names changed over the mean size of the two sessions' universes.
            "turnover": (entered + exited) / size if size else 0.0,
            "eligible": int((s.rank > 0).sum()),
            "listed": len(s.symbols),
            "exits": {k: v for k, v in exits.items() if v and k not in {str(m) for m in MEMBER_REASONS}},
        }
        return Decision(window.session, window.decision_time, payload)

    @staticmethod
    def _notes(ctx: RunContext, decisions: list[Decision]) -> tuple[str, ...]:
        empty = sum(d.payload["members"] == 0 for d in decisions)
        if not empty:
            return ()
        return (f"universe: no member on {empty} of {len(ctx.sessions)} sessions of {ctx.market}",)
