"""The Synthetic Scenarios engine: scenario sets on rebalance sessions and the target portfolio's stress P&L.

On each rebalance session (every ``every_sessions`` sessions, counted from :data:`EPOCH`) the engine reads the
trailing ``history_sessions`` returns as known at the session's decision time, generates each enabled set with a
seed derived from (config seed, session), and computes the P&L of the session's target portfolio on every path:
VaR and ES at the configured levels, worst loss and mean per set. The stress rule: the worst set is the one with
the largest ES at the highest VaR level; when that ES exceeds ``stress_loss_limit`` the decision records the factor
``limit / ES`` (< 1) that brings it within the limit (P&L is linear in the weights). The engine only records the
factor; the order planner applies it to the target weights.

Regime labels: the upstream regime frame may (and in production does) reach back over the whole history window
before the run, so each session conditions on every label known at its decision time. With a ``paths`` sink
(:class:`~prometheus.engines.scenarios.lake.ScenarioPathStore`) each set's paths go to the lake and
``scenario_sets.lake_path`` records where; without one ``lake_path`` stays null.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, ClassVar

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from prometheus.calendar import TradingCalendar, get_calendar
from prometheus.core.types import Market
from prometheus.data.panel import PanelWindow, PointInTimePanel
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.base import Decision, EngineResult, EngineSpec, RunContext, history_sessions
from prometheus.engines.scenarios.config import ScenarioConfig, ScenarioKind
from prometheus.engines.scenarios.generators import (
    ScenarioSet,
    block_bootstrap,
    filtered_historical,
    regime_bootstrap,
    replay,
    scenario_rng,
    shocks,
)
from prometheus.engines.scenarios.lake import PathKey, PathSink, path_frame, path_growth
from prometheus.engines.scenarios.risk import horizon_growth, stress_scale, var_es
from prometheus.engines.scenarios.schema import SCENARIO_RESULTS, SCENARIOS_SPEC

#: Sessions are counted from here, so whether a session is a rebalance session depends on the session alone (and
#: the market's calendar), never on where a run starts. A calendar starting later counts from its first session.
EPOCH = date(1990, 1, 1)
#: Regime label whose sessions feed the stressed regime bootstrap.
CRISIS = "crisis"
#: Metadata values that are arrays (row indices, betas) are left out of ``definition.parameters``.
_MAX_PARAM_ITEMS = 64
#: The parts :attr:`ScenariosEngine.timings` splits a run into (seconds of wall time each).
TIMED_PARTS = ("panel", "generate", "valuation", "path_files", "other")


def level_name(kind: str, level: float) -> str:
    """``var_95``, ``es_97.5``: the scenario name of a VaR or ES summary row."""
    return f"{kind}_{level * 100:g}"


class ScenariosEngine:
    """Scenario sets and the target portfolio's stress P&L on rebalance sessions; constructor stores parameters."""

    spec: ClassVar[EngineSpec] = SCENARIOS_SPEC

    def __init__(
        self, config: ScenarioConfig, calendar: TradingCalendar | None = None, bar_delay: timedelta | None = None,
        paths: PathSink | None = None,
    ) -> None:  # fmt: skip
        self._config = config
        self.calendar = calendar
        # Kept for the asset factory's uniform signature; decision times come from the run context.
        self.bar_delay = bar_delay
        #: Where each set's paths are stored (None: not stored, lake_path null).
        self.paths = paths
        #: Wall seconds of the last run by part (:data:`TIMED_PARTS`): what a benchmark reads.
        self.timings: dict[str, float] = dict.fromkeys(TIMED_PARTS, 0.0)

    @property
    def config(self) -> ScenarioConfig:
        """The engine config."""
        return self._config

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first decision."""
        return self._config.history_sessions

    def rebalance_sessions(self, market: Market, sessions: list[date] | tuple[date, ...]) -> list[date]:
        """The sessions of ``sessions`` on which scenarios run: ``config.runs_on(i)`` with i counted from EPOCH."""
        if not sessions:
            return []
        cal = self.calendar or get_calendar()
        index = {d: i for i, d in enumerate(cal.sessions(market, EPOCH, max(sessions)))}
        return [d for d in sessions if d in index and self._config.runs_on(index[d])]

    def run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        """Decide the rebalance sessions of ``ctx``; other sessions produce no rows and no decision."""
        # One BLAS thread: the eigen root and products of one rebalance are small enough that threads cost more
        # than they save, and on a loaded machine (two workers on two cores) their busy waits made the eigen
        # root ~10x slower. The paths also stop depending on the machine's core count (last bits).
        with threadpool_limits(limits=1, user_api="blas"):
            return self._run(view, ctx, upstream)

    def _run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        cfg, cal = self._config, self.calendar or get_calendar()
        chosen = set(self.rebalance_sessions(ctx.market, ctx.sessions))
        pairs = [(d, t) for d, t in zip(ctx.sessions, ctx.decision_times, strict=True) if d in chosen]
        notes: list[str] = []
        set_rows: list[dict[str, Any]] = []
        result_rows: list[dict[str, Any]] = []
        decisions: list[Decision] = []
        self.timings = dict.fromkeys(TIMED_PARTS, 0.0)
        began = time.perf_counter()
        if pairs:
            calendar_days = history_sessions(cal, ctx, cfg.history_sessions)[0]
            panel = PointInTimePanel(view, ctx.market, [d for d, _ in pairs], [t for _, t in pairs],
                                     calendar_days, cfg.history_sessions)  # fmt: skip
            regimes, portfolio = upstream.get("regime"), upstream.get("portfolio")
            last = time.perf_counter()
            for window in panel:
                self.timings["panel"] += time.perf_counter() - last
                s_rows, r_rows, decision, s_notes = self._session(ctx, window, regimes, portfolio)
                set_rows += s_rows
                result_rows += r_rows
                decisions.append(decision)
                notes += [n for n in s_notes if n not in notes]
                last = time.perf_counter()
        frame = pl.DataFrame(set_rows, schema=dict(self.spec.schema)).sort(["session", "scenario_set"])
        results = pl.DataFrame(result_rows, schema=dict(SCENARIO_RESULTS.schema))
        results = results.sort(["session", "scenario_set", "scenario"])
        self.timings["other"] = time.perf_counter() - began - sum(self.timings.values())
        return EngineResult(frame, tuple(decisions), tuple(notes), extra={SCENARIO_RESULTS.table: results})

    # --- one rebalance session -----------------------------------------------------------------------------

    def _session(
        self, ctx: RunContext, window: PanelWindow, regimes: pl.DataFrame | None, portfolio: pl.DataFrame | None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Decision, list[str]]:
        cfg = self._config
        notes: list[str] = []
        seed = session_seed(cfg.seed, window.session)
        labels, current = regime_labels(regimes, window)
        t0 = time.perf_counter()
        sets = self._generate(window, seed, labels, current, notes)
        self.timings["generate"] += time.perf_counter() - t0
        weights, held = target_weights(portfolio, window)
        if weights is None:
            notes.append(f"scenarios: no target portfolio known on {window.session}: no stress P&L")
        elif held["unpriced_weight"] > 0:
            notes.append(f"scenarios: {held['unpriced']} target names without a listing on {window.session} "
                         f"(|weight| {held['unpriced_weight']:.3f}) are left out of the stress P&L")  # fmt: skip
        ident = {"market": str(ctx.market), "session": window.session, "decision_time": window.decision_time,
                 "experiment": ctx.experiment, "config_version": ctx.config_version}  # fmt: skip
        top = max(cfg.var_levels)
        equal = np.full(window.returns.shape[1], 1.0 / max(window.returns.shape[1], 1))
        set_rows, result_rows, per_set = [], [], {}
        for s in sets:
            t0 = time.perf_counter()
            # Each name's growth once per set, for both portfolios and the path file (it was computed three times).
            # The cumulative product's last step is the horizon product itself (the same products in the same
            # order), copied contiguous so each P&L is the same matrix-vector product as portfolio_pnl's.
            growth = path_growth(s.paths, len(equal)) if self.paths is not None else None
            last = np.ascontiguousarray(growth[:, -1]) if growth is not None else horizon_growth(s.paths, len(equal))
            market = last @ equal
            tail: dict[float, Any] = {}
            pnl = None
            if weights is not None:
                pnl = last @ weights
                tail = var_es(pnl, cfg.var_levels)
                result_rows += [ident | r for r in _result_rows(s, pnl, tail)]
                per_set[s.name] = (
                    {level_name("var", lv): v.var for lv, v in tail.items()}
                    | {level_name("es", lv): v.es for lv, v in tail.items()}
                    | {"worst": float(-pnl.min()), "mean": float(pnl.mean()), "paths": s.n_paths}
                )
            definition = {
                "seed": seed, "history_sessions": int(window.returns.shape[0]),
                "market_mean": float(market.mean()), "market_vol": float(market.std()),
                "market_worst": float(market.min()),
                "portfolio_var": tail[top].var if tail else None, "portfolio_es": tail[top].es if tail else None,
                "var_level": top, "parameters": _parameters(s.metadata),
            }  # fmt: skip
            self.timings["valuation"] += time.perf_counter() - t0
            lake_path = None
            if self.paths is not None:
                t0 = time.perf_counter()
                key = PathKey(str(ctx.market), ctx.config_version, window.session, s.name)
                lake_path = self.paths.write(
                    key, path_frame(s.paths, equal, weights, pnl=pnl, market_pnl=market, growth=growth)
                )
                self.timings["path_files"] += time.perf_counter() - t0
            row = {"scenario_set": s.name, "method": str(s.kind), "n_scenarios": s.n_paths,
                   "horizon_sessions": s.horizon, "definition": definition, "lake_path": lake_path}  # fmt: skip
            set_rows.append(ident | row)
        return set_rows, result_rows, self._decision(window, per_set, held, current, notes), notes

    def _generate(
        self, window: PanelWindow, seed: int, labels: np.ndarray, current: str | None, notes: list[str]
    ) -> list[ScenarioSet]:
        """Every enabled set that the history allows (sets without paths are left out with a note)."""
        cfg, r, sectors = self._config, window.returns, window.sectors
        out: list[ScenarioSet] = []
        for kind in cfg.generators:
            if kind == ScenarioKind.FILTERED_HISTORICAL:
                out.append(filtered_historical(r, cfg, scenario_rng(seed, kind.value), sectors=sectors))
            elif kind == ScenarioKind.BLOCK_BOOTSTRAP:
                out.append(block_bootstrap(r, cfg, scenario_rng(seed, kind.value), sectors=sectors))
            elif kind == ScenarioKind.REGIME_BOOTSTRAP:
                if current is None:
                    notes.append(f"scenarios: no regime label known on {window.session}: regime bootstrap skipped")
                    continue
                out.append(regime_bootstrap(r, labels, current, cfg, scenario_rng(seed, kind.value),
                                            sectors=sectors))  # fmt: skip
                if np.any(labels == CRISIS):
                    out.append(regime_bootstrap(r, labels, CRISIS, cfg, scenario_rng(seed, "regime_stressed"),
                                                sectors=sectors, stressed=True))  # fmt: skip
                else:
                    notes.append(f"scenarios: no crisis session in the history of {window.session}: "
                                 "stressed regime bootstrap skipped")  # fmt: skip
            elif kind == ScenarioKind.REPLAY:
                if cfg.replay_windows:
                    days = [d.item() for d in window.dates.astype("datetime64[D]")]
                    out.append(replay(r, days, cfg.replay_windows, sectors=sectors))
            else:
                out += shocks(r, sectors, cfg, scenario_rng(seed, kind.value))
        empty = [s.name for s in out if s.n_paths == 0]
        if empty:
            notes.append(f"scenarios: sets without paths on {window.session} left out: {empty}")
        return [s for s in out if s.n_paths > 0]

    def _decision(
        self, window: PanelWindow, per_set: dict[str, dict[str, Any]], held: dict[str, Any], current: str | None,
        notes: list[str],
    ) -> Decision:  # fmt: skip
        cfg = self._config
        es_top = level_name("es", max(cfg.var_levels))
        worst = max(per_set, key=lambda k: per_set[k][es_top]) if per_set else None
        worst_loss = per_set[worst][es_top] if worst else None
        scale = stress_scale(worst_loss, cfg.stress_loss_limit) if worst_loss is not None else None
        payload = {
            "sets": per_set,
            "worst_set": worst,
            "worst_loss": worst_loss,  # ES at the highest VaR level of the worst set
            "stress_loss_limit": cfg.stress_loss_limit,
            "scale": scale,  # applied by the order planner, not here
            "breach": scale is not None and scale < 1.0,
            "regime": current,
            "names": int(window.returns.shape[1]),
            "portfolio_session": held.get("session"),
            "notes": list(notes),
        }
        return Decision(window.session, window.decision_time, payload)


def session_seed(seed: int, session: date) -> int:
    """The seed of one session's sets: a function of (config seed, session) only, so reruns repeat the paths."""
    return int(np.random.SeedSequence([seed, session.toordinal()]).generate_state(1)[0])


def _known(frame: pl.DataFrame | None, window: PanelWindow) -> pl.DataFrame | None:
    """Upstream rows decided by the window's decision time, up to its session (nothing later is ever used)."""
    if frame is None or frame.is_empty():
        return None
    known = frame.filter((pl.col("session") <= window.session) & (pl.col("decision_time") <= window.decision_time))
    return known if known.height else None


def regime_labels(regimes: pl.DataFrame | None, window: PanelWindow) -> tuple[np.ndarray, str | None]:
    """Regime label per row of the window (None where unknown) and the latest known label (the current regime)."""
    labels = np.full(len(window.dates), None, dtype=object)
    known = _known(regimes, window)
    if known is None:
        return labels, None
    by_day = dict(zip(known["session"].to_list(), known["label"].to_list(), strict=True))
    days = [d.item() for d in window.dates.astype("datetime64[D]")]
    labels[:] = [by_day.get(d) for d in days]
    last = known.sort("session")["label"][-1]
    return labels, str(last)


def target_weights(portfolio: pl.DataFrame | None, window: PanelWindow) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Weights of the latest target portfolio known at the window's decision time, aligned to its names.

    Names of the portfolio that are not listed in the window are left out (their weight and count are returned).
    """
    known = _known(portfolio, window)
    if known is None:
        return None, {"unpriced": 0, "unpriced_weight": 0.0}
    latest = known.filter(pl.col("session") == known["session"].max())
    w = dict(zip(latest["instrument"].to_list(), latest["weight"].to_list(), strict=True))
    symbols = window.symbols.tolist()
    weights = np.array([w.get(s, 0.0) for s in symbols], dtype=np.float64)
    missing = set(w) - set(symbols)
    held = {"session": latest["session"][0].isoformat(), "unpriced": len(missing),
            "unpriced_weight": float(sum(abs(w[s]) for s in missing))}  # fmt: skip
    return weights, held


def _result_rows(s: ScenarioSet, pnl: np.ndarray, tail: Mapping[float, Any]) -> list[dict[str, Any]]:
    """Summary rows of one set (VaR and ES per level, worst, mean) and its named paths (replays, sector shocks)."""
    n = s.n_paths
    rows = []
    for level, v in tail.items():
        rows.append({"scenario": level_name("var", level), "pnl": -v.var,
                     "details": {"level": level, "loss": v.var, "paths": n}})  # fmt: skip
        rows.append({"scenario": level_name("es", level), "pnl": -v.es,
                     "details": {"level": level, "loss": v.es, "paths": n}})  # fmt: skip
    rows.append({"scenario": "worst", "pnl": float(pnl.min()),
                 "details": {"level": None, "loss": float(-pnl.min()), "paths": n}})  # fmt: skip
    rows.append({"scenario": "mean", "pnl": float(pnl.mean()),
                 "details": {"level": None, "loss": float(-pnl.mean()), "paths": n}})  # fmt: skip
    names = s.metadata.get("windows") or s.metadata.get("sectors") or []
    prefix = "window" if s.kind == ScenarioKind.REPLAY else "sector"
    if len(names) == n and s.name in {"replay", "sector_shock"}:
        rows += [{"scenario": f"{prefix}:{name}", "pnl": float(p), "details": {"level": None, "loss": float(-p),
                  "paths": 1}} for name, p in zip(names, pnl, strict=True)]  # fmt: skip
    return [{"scenario_set": s.name} | r for r in rows]


def _parameters(meta: Mapping[str, Any]) -> str:
    """The generator's scalar parameters as JSON (arrays such as row indices and betas are left out; NaN -> null)."""
    out: dict[str, Any] = {}
    for k, v in meta.items():
        if isinstance(v, np.ndarray) or (isinstance(v, list | tuple) and len(v) > _MAX_PARAM_ITEMS):
            continue
        v = v.item() if isinstance(v, np.generic) else v
        out[k] = None if isinstance(v, float) and not np.isfinite(v) else v
    return json.dumps(out, sort_keys=True, default=str)


__all__ = ["CRISIS", "EPOCH", "ScenariosEngine", "level_name", "regime_labels", "session_seed", "target_weights"]
