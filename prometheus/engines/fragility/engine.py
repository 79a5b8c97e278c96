"""The Fragility engine: point-in-time residual clusters, their crowding statistics and per-name penalties."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

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


def _clean(values: Mapping[str, float | None]) -> dict[str, float | None]:
    return {k: (float(v) if v is not None and np.isfinite(v) else None) for k, v in values.items()}


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
        deciding, rows, decisions, thin = set(ctx.sessions), [], [], 0
        # Many small matrix products: BLAS threads cost more than they save here.
        with threadpool_limits(limits=1, user_api="blas"):
            for window in panel:
                if window.session not in deciding:
                    continue
                found = self._session(ctx, window)
                if found is None:
                    thin += 1
                    continue
                rows.extend(found[0])
                decisions.append(found[1])
        frame = pl.DataFrame(rows, schema=dict(self.spec.schema))
        notes = (
            (f"fragility: no clusters on {thin} of {len(ctx.sessions)} sessions of {ctx.market}: fewer than "
             f"{cfg.min_names} names with {cfg.data_window} sessions of returns",)
            if thin else ()
        )  # fmt: skip
        return EngineResult(frame.sort(["session", "instrument"]), tuple(decisions), notes)

    def _session(self, ctx: RunContext, window: PanelWindow) -> tuple[list[dict], Decision] | None:
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
        base = {"market": str(ctx.market), "session": window.session, "decision_time": window.decision_time,
                "experiment": ctx.experiment, "config_version": ctx.config_version}  # fmt: skip
        rows = self._instrument_rows(base, symbols, scores, clusters, trend)
        flagged = []
        for c in clusters:
            if len(c.members) < cfg.min_cluster_size:
                continue
            ident = CLUSTER_PREFIX + min(symbols[c.members].tolist())
            rows.append(base | {"instrument": ident, "score": c.avg_corr, "components": _clean(self._cluster(c))})
            if c.flagged:
                flagged.append({"cluster": ident, "size": len(c.members), "avg_corr": c.avg_corr,
                                "members": sorted(symbols[c.members].tolist())})  # fmt: skip
        return rows, Decision(window.session, window.decision_time, {"flagged": flagged})

    @staticmethod
    def _cluster(c: Cluster) -> dict[str, float | None]:
        return {F.CLUSTER_AVG_CORR: c.avg_corr, F.CLUSTER_SIZE: float(len(c.members)), F.CLUSTER_AR: c.absorption_ratio,
                F.CLUSTER_AMIHUD_TREND: c.amihud_trend, F.AMIHUD_TREND: None, F.OWN_CORR: None,
                F.FLAGGED: float(c.flagged)}  # fmt: skip

    def _instrument_rows(self, base: dict[str, Any], symbols: np.ndarray, scores: np.ndarray,
                         clusters: list[Cluster], trend: np.ndarray) -> list[dict]:  # fmt: skip
        comps: list[dict[str, float | None]] = [
            {f.value: None for f in F} | {F.CLUSTER_SIZE: 1.0, F.FLAGGED: 0.0, F.AMIHUD_TREND: float(trend[i])}
            for i in range(len(symbols))
        ]
        for c in clusters:
            shared = self._cluster(c)
            for j, i in enumerate(c.members):
                comps[i] = shared | {F.AMIHUD_TREND: float(trend[i]), F.OWN_CORR: float(c.own_corr[j])}
        return [
            base | {"instrument": str(s), "score": float(scores[i]), "components": _clean(comps[i])}
            for i, s in enumerate(symbols)
        ]
