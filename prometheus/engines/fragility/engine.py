"""The Fragility engine: point-in-time residual clusters, their crowding statistics and per-name penalties."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from prometheus.calendar import TradingCalendar, get_calendar
from prometheus.data.panel import PanelWindow, PointInTimePanel
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.base import Decision, EngineResult, EngineSpec, RunContext, history_sessions
from prometheus.engines.fragility.clusters import (
    Cluster,
    amihud_trend,
    clusters_of,
    correlation,
    instrument_scores,
    residual_returns,
)
from prometheus.engines.fragility.config import FragilityConfig
from prometheus.engines.fragility.schema import CLUSTER_PREFIX, FRAGILITY_SPEC
from prometheus.engines.fragility.schema import FragilityComponent as F

#: Fields of ``components`` in their struct order.
_FIELDS: tuple[str, ...] = tuple(f.value for f in F)
_COL: dict[str, int] = {f: k for k, f in enumerate(_FIELDS)}


@dataclass
class _Rows:
    """Output rows gathered column by column (a million dict rows cost more than the maths on a long run)."""

    sessions: list[date] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    session_of: list[np.ndarray] = field(default_factory=list)
    instruments: list[np.ndarray] = field(default_factory=list)
    scores: list[np.ndarray] = field(default_factory=list)
    #: (rows, fields) per session; NaN (and any non-finite value) becomes null.
    components: list[np.ndarray] = field(default_factory=list)

    def add(self, window: PanelWindow, instruments: np.ndarray, scores: np.ndarray, comps: np.ndarray) -> None:
        """One session's rows."""
        self.session_of.append(np.full(len(instruments), len(self.sessions), dtype=np.int64))
        self.sessions.append(window.session)
        self.times.append(window.decision_time)
        self.instruments.append(instruments)
        self.scores.append(scores)
        self.components.append(comps)

    def frame(self, ctx: RunContext, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
        """The rows as a frame of ``schema``."""
        if not self.sessions:
            return pl.DataFrame(schema=dict(schema))
        idx = pl.Series(np.concatenate(self.session_of))
        comps = np.concatenate(self.components)
        base = pl.DataFrame({
            "session": pl.Series(self.sessions, dtype=schema["session"]).gather(idx),
            "decision_time": pl.Series(self.times, dtype=schema["decision_time"]).gather(idx),
            "instrument": pl.Series(np.concatenate(self.instruments).astype(str), dtype=pl.String()),
            "score": pl.Series(np.concatenate(self.scores), dtype=pl.Float64()),
        } | {f: pl.Series(f, comps[:, k], dtype=pl.Float64()) for k, f in enumerate(_FIELDS)})  # fmt: skip
        finite = [pl.when(pl.col(f).is_finite()).then(pl.col(f)).alias(f) for f in _FIELDS]
        return base.select(
            pl.lit(str(ctx.market), dtype=pl.String()).alias("market"),
            "session",
            "decision_time",
            pl.lit(ctx.experiment, dtype=pl.String()).alias("experiment"),
            pl.lit(ctx.config_version, dtype=pl.String()).alias("config_version"),
            "instrument",
            "score",
            pl.struct(finite).alias("components"),
        )


class FragilityEngine:
    """Crowding per instrument and cluster; constructor stores parameters only."""

    spec: ClassVar[EngineSpec] = FRAGILITY_SPEC

    def __init__(self, config: FragilityConfig, calendar: TradingCalendar | None = None) -> None:
        self._config = config
        self.calendar = calendar

    @property
    def config(self) -> FragilityConfig:
        """The engine config."""
        return self._config

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first decision."""
        return self._config.lookback_sessions

    def run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        """Cluster and score every session of ``ctx`` from its own trailing window."""
        cfg, cal = self._config, self.calendar or get_calendar()
        days, times = history_sessions(cal, ctx, 0)
        history = history_sessions(cal, ctx, cfg.data_window)[0]
        panel = PointInTimePanel(view, ctx.market, days, times, history, cfg.data_window)
        deciding, rows, decisions, thin = set(ctx.sessions), _Rows(), [], 0
        # Many small matrix products: BLAS threads cost more than they save here.
        with threadpool_limits(limits=1, user_api="blas"):
            for window in panel:
                if window.session not in deciding:
                    continue
                found = self._session(window, rows)
                if found is None:
                    thin += 1
                    continue
                decisions.append(found)
        frame = rows.frame(ctx, self.spec.schema)
        notes = (
            (f"fragility: no clusters on {thin} of {len(ctx.sessions)} sessions of {ctx.market}: fewer than "
             f"{cfg.min_names} names with {cfg.data_window} sessions of returns",)
            if thin else ()
        )  # fmt: skip
        return EngineResult(frame.sort(["session", "instrument"]), tuple(decisions), notes)

    def _session(self, window: PanelWindow, rows: _Rows) -> Decision | None:
        cfg = self._config
        ok = window.complete(cfg.data_window)
        if ok.sum() < cfg.min_names:
            return None
        returns, symbols = window.returns[:, ok], window.symbols[ok]
        residuals = residual_returns(returns, window.sectors[ok], cfg)
        corr = correlation(residuals)
        trend = amihud_trend(returns, window.dollar_volume[:, ok], cfg)
        clusters = clusters_of(corr, residuals, trend, cfg)
        scores = instrument_scores(clusters, len(symbols), cfg)
        comps = np.full((len(symbols), len(_FIELDS)), np.nan)
        comps[:, _COL[F.CLUSTER_SIZE]], comps[:, _COL[F.FLAGGED]] = 1.0, 0.0
        comps[:, _COL[F.AMIHUD_TREND]] = trend
        idents, cluster_scores, cluster_comps, flagged = [], [], [], []
        for c in clusters:
            shared = self._cluster(c)
            comps[c.members] = shared
            comps[c.members, _COL[F.AMIHUD_TREND]] = trend[c.members]
            comps[c.members, _COL[F.OWN_CORR]] = c.own_corr
            if len(c.members) < cfg.min_cluster_size:
                continue
            ident = CLUSTER_PREFIX + min(symbols[c.members].tolist())
            idents.append(ident)
            cluster_scores.append(c.avg_corr)
            cluster_comps.append(shared)
            if c.flagged:
                flagged.append({"cluster": ident, "size": len(c.members), "avg_corr": c.avg_corr,
                                "members": sorted(symbols[c.members].tolist())})  # fmt: skip
        rows.add(
            window,
            np.concatenate([symbols.astype(str), np.array(idents, dtype=str)]),
            np.concatenate([scores, np.array(cluster_scores, dtype=float)]),
            np.vstack([comps, np.array(cluster_comps, dtype=float).reshape(-1, len(_FIELDS))]),
        )
        return Decision(window.session, window.decision_time, {"flagged": flagged})

    @staticmethod
    def _cluster(c: Cluster) -> np.ndarray:
        """A cluster's fields (NaN for the per-name ones)."""
        out = np.full(len(_FIELDS), np.nan)
        out[[_COL[F.CLUSTER_AVG_CORR], _COL[F.CLUSTER_SIZE], _COL[F.CLUSTER_AR], _COL[F.CLUSTER_AMIHUD_TREND],
             _COL[F.FLAGGED]]] = [c.avg_corr, float(len(c.members)), c.absorption_ratio, c.amihud_trend,
                                  float(c.flagged)]  # fmt: skip
        return out
