"""The Portfolio & Risk engine: per session, a point-in-time factor risk model, then the optimiser's targets.

Each session's target starts from the previous session's target (turnover cap, trading costs), so the engine walks
its sessions in order. A run starts from ``previous`` (the last target before the run) when given, else from cash
``warmup_sessions`` sessions before its first decided session; the warm-up sessions are decided exactly like the
others (each from the data known at its own decision time) but not returned. A warm-up session without upstream
rows (no universe known) is not walked: the book stays where it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, ClassVar

import numpy as np
import polars as pl

from prometheus.calendar import TradingCalendar, get_calendar
from prometheus.data.panel import PanelWindow, PointInTimePanel
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.base import Decision, EngineResult, EngineSpec, RunContext, history_sessions
from prometheus.engines.portfolio.config import PortfolioConfig
from prometheus.engines.portfolio.optimiser import OptimisationResult, optimise
from prometheus.engines.portfolio.risk_model import FactorRiskModel, estimate_risk_model
from prometheus.engines.portfolio.schema import PORTFOLIO_SPEC, RISK_REPORTS

#: Standard normal quantile and tail mean at 95 %: VaR = Z sigma, ES = phi(Z) / 0.05 sigma (zero mean).
Z_95 = 1.6448536269514722
ES_95 = 2.0627128075074257
#: Weights below this are solver dust and written as 0 (they only shrink every capped sum).
DUST = 1e-8
#: Fallback statuses of the optimiser (what a decision calls "the fallback used").
FALLBACKS = ("relaxed_turnover", "hrp", "inverse_vol")
#: ``reason`` values of a member row of ``universe_members`` (the Universe engine's MEMBER_REASONS; engines do not
#: import each other, a test keeps the two equal).
MEMBER_REASONS = frozenset({"entered", "stayed"})


class PortfolioEngine:
    """Target weights and a risk report per session; constructor stores parameters only.

    ``previous``: the last target before the run (``instrument``, ``weight``), which a PAPER/LIVE run reads from
    the holdings; without it the run starts from cash before its warm-up.
    """

    spec: ClassVar[EngineSpec] = PORTFOLIO_SPEC

    def __init__(
        self,
        config: PortfolioConfig,
        calendar: TradingCalendar | None = None,
        bar_delay: timedelta | None = None,
        previous: pl.DataFrame | None = None,
    ) -> None:
        self._config = config
        self.calendar = calendar
        self.bar_delay = bar_delay  # the runner's decision times carry the delay; kept for the factory's signature
        self.previous = previous

    @property
    def config(self) -> PortfolioConfig:
        """The engine config."""
        return self._config

    @property
    def lookback_sessions(self) -> int:
        """Sessions of history needed before the first decision."""
        return self._config.lookback_sessions

    def run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        """Decide every session of ``ctx`` in order, walking the warm-up before it (see the module docstring)."""
        cfg, cal = self._config, self.calendar or get_calendar()
        warmup = 0 if self.previous is not None else cfg.warmup_sessions
        days, times = history_sessions(cal, ctx, warmup)
        inputs = _Upstream(upstream)
        deciding = set(ctx.sessions)
        keep = [i for i, d in enumerate(days) if d in deciding or inputs.has_universe(d)]
        days, times = [days[i] for i in keep], [times[i] for i in keep]
        history = history_sessions(cal, ctx, warmup + cfg.data_window)[0]
        panel = PointInTimePanel(view, ctx.market, days, times, history, cfg.data_window)
        book: dict[str, float] = {}
        if self.previous is not None:
            book = {str(s): float(w) for s, w in self.previous.select("instrument", "weight").iter_rows() if w != 0}
        rows: list[dict[str, Any]] = []
        reports: list[dict[str, Any]] = []
        decisions: list[Decision] = []
        notes: list[str] = []
        model: FactorRiskModel | None = None
        for step, window in enumerate(panel):
            rebalance = step % cfg.rebalance_every == 0 or model is None
            if rebalance:
                model = estimate_risk_model(window.returns, window.symbols, window.sectors, cfg.risk)
            assert model is not None
            book, found = self._session(window, model, book, inputs, rebalance)
            if window.session in deciding:
                rows.extend(self._rows(ctx, window, found))
                reports.append(self._report(ctx, window, found))
                decisions.append(Decision(window.session, window.decision_time, found["payload"]))
                notes.extend(found["notes"])
        frame = pl.DataFrame(rows, schema=dict(self.spec.schema)).sort(["session", "instrument"])
        report = pl.DataFrame(reports, schema=dict(RISK_REPORTS.schema)).sort("session")
        return EngineResult(frame, tuple(decisions), tuple(notes), extra={RISK_REPORTS.table: report})

    def _session(
        self,
        window: PanelWindow,
        model: FactorRiskModel,
        book: dict[str, float],
        inputs: _Upstream,
        rebalance: bool,
    ) -> tuple[dict[str, float], dict[str, Any]]:
        """The target of one session from ``book`` (the previous target); (new book, what was found)."""
        cfg, day = self._config, window.session
        symbols = window.symbols
        model = model if np.array_equal(model.symbols, symbols) else _cover(model, symbols)
        index = {s: i for i, s in enumerate(symbols)}
        notes: list[str] = []
        # A held name no longer listed (delisted, or no longer in the reference data) leaves at 0.
        gone = sorted(s for s in book if s not in index)
        if gone:
            notes.append(f"portfolio {day}: {len(gone)} held name(s) not listed, exited at 0: {gone[:5]}")
        current = np.array([book.get(s, 0.0) for s in symbols])
        prices = _last_close(window)
        universe_names = inputs.universe(day)
        missing = sorted(set(universe_names) - set(index))
        if missing:
            notes.append(f"portfolio {day}: {len(missing)} universe name(s) not in the panel, skipped: {missing[:5]}")
        universe = np.isin(symbols, list(universe_names))
        unpriced = universe & ~(np.isfinite(prices) & (prices > 0))
        if unpriced.any():
            notes.append(f"portfolio {day}: {int(unpriced.sum())} universe name(s) without a price, skipped")
            universe &= ~unpriced
        alpha_map = inputs.alpha(day)
        alpha = np.array([alpha_map.get(s, 0.0) for s in symbols])
        frag_map = inputs.fragility(day)
        fragility = np.array([frag_map.get(s, 0.0) for s in symbols])
        label, stability = inputs.regime(day), inputs.stability(day)
        dollar = np.nan_to_num(window.dollar_volume[-cfg.adv_window :], nan=0.0)  # no bar = 0, as the universe
        adv = np.median(dollar, axis=0) / np.where(np.isfinite(prices) & (prices > 0), prices, np.inf)
        sigma = np.sqrt(np.einsum("ik,kl,il->i", model.loadings, model.factor_cov, model.loadings) + model.specific_var)
        held_unpriced = (current != 0) & ~(np.isfinite(prices) & (prices > 0))
        # A held name without any close in the window cannot be priced for the cost model; it is priced at 1.0
        # so the optimiser can still shrink it (the weight is what matters), and noted.
        if held_unpriced.any():
            notes.append(f"portfolio {day}: {int(held_unpriced.sum())} held name(s) without a price, cost at 1.0")
            prices = np.where(held_unpriced, 1.0, prices)
        result: OptimisationResult | None = None
        if rebalance:
            result = optimise(
                alpha, model, current, cfg.limits, cfg.optimiser, adv=adv, sigma_daily=sigma, prices=prices,
                equity=cfg.equity, universe=universe, fragility=fragility, regime_label=label, stability=stability,
            )  # fmt: skip
            weights = np.where(np.abs(result.weights) < DUST, 0.0, result.weights)
        else:
            weights = current.copy()
        scored = np.array([s in alpha_map for s in symbols])
        turnover = float(np.abs(weights - current).sum() + sum(abs(book[s]) for s in gone)) / 2
        status = result.status if result is not None else "hold"
        payload = {
            "status": status,
            "fallback": status if status in FALLBACKS else None,
            "attempts": [{"status": a.status, "ok": a.ok, "detail": a.detail} for a in result.attempts]
            if result is not None
            else [],
            "breaches": list(result.breaches) if result is not None else [],
            "budget_scale": result.budget_scale if result is not None else None,
            "gross": float(np.abs(weights).sum()),
            "net": float(weights.sum()),
            "turnover": turnover,
            "names": int(np.count_nonzero(weights)),
            "universe": int(universe.sum()),
            "regime": label,
            "stability": stability,
            "message": result.message if result is not None else f"held (rebalance every {cfg.rebalance_every})",
            "solve_seconds": result.solve_seconds if result is not None else 0.0,
            "skipped": missing,
            "exited_unlisted": gone,
        }
        found = {"model": model, "symbols": symbols, "weights": weights, "current": current, "alpha": alpha,
                 "scored": scored, "gone": gone, "result": result, "payload": payload, "notes": notes}  # fmt: skip
        new_book = {s: float(w) for s, w in zip(symbols, weights, strict=True) if w != 0}
        return new_book, found

    @staticmethod
    def _rows(ctx: RunContext, window: PanelWindow, found: dict[str, Any]) -> list[dict[str, Any]]:
        weights, current, model = found["weights"], found["current"], found["model"]
        contributions = model.marginal_contributions(weights)
        base = {"market": str(ctx.market), "session": window.session, "decision_time": window.decision_time,
                "experiment": ctx.experiment, "config_version": ctx.config_version}  # fmt: skip
        out = [
            base
            | {
                "instrument": s,
                "weight": float(weights[i]),
                "expected_return": float(found["alpha"][i]) if found["scored"][i] else None,
                "risk_contribution": float(contributions[i]),
            }  # fmt: skip
            for i, s in enumerate(found["symbols"])
            if weights[i] != 0 or current[i] != 0
        ]
        out += [base | {"instrument": s, "weight": 0.0, "expected_return": None, "risk_contribution": None}
                for s in found["gone"]]  # fmt: skip
        return out

    @staticmethod
    def _report(ctx: RunContext, window: PanelWindow, found: dict[str, Any]) -> dict[str, Any]:
        weights, model, payload = found["weights"], found["model"], found["payload"]
        result: OptimisationResult | None = found["result"]
        daily = float(np.sqrt(max(model.portfolio_variance(weights), 0.0)))
        sectors = sorted(model.sector_exposures(weights).items(), key=lambda kv: -abs(kv[1]))[:3]
        report = {
            "gross": payload["gross"],
            "net": payload["net"],
            "beta": model.beta(weights),
            "n_names": payload["names"],
            "turnover": payload["turnover"],
            "status": payload["status"],
            "budget_scale": payload["budget_scale"],
            "factor_exposure_norm": float(np.linalg.norm(model.factor_exposures(weights))),
            "top_sectors": ",".join(f"{s or '?'}:{w:.4f}" for s, w in sectors if w != 0),
            "expected_return": float(found["alpha"] @ weights),
            "cost": result.objective.cost if result is not None else 0.0,
        }
        return {"market": str(ctx.market), "session": window.session, "decision_time": window.decision_time,
                "experiment": ctx.experiment, "config_version": ctx.config_version,
                "ex_ante_vol": model.vol(weights), "var_95": Z_95 * daily, "es_95": ES_95 * daily,
                "report": report}  # fmt: skip


def _cover(model: FactorRiskModel, symbols: np.ndarray) -> FactorRiskModel:
    """The last model over today's names, on a session it is not re-estimated: names it lacks (new listings) get
    the mean loadings and the median specific variance of the names it has, as the model's own prior does."""
    where = {str(s): i for i, s in enumerate(model.symbols)}
    rows = np.array([where.get(str(s), -1) for s in symbols])
    have = rows >= 0
    loadings = np.where(have[:, None], model.loadings[np.maximum(rows, 0)], model.loadings.mean(axis=0))
    specific = np.where(have, model.specific_var[np.maximum(rows, 0)], np.median(model.specific_var))
    betas = np.where(have, model.betas[np.maximum(rows, 0)], 1.0)
    sectors = np.where(have, model.sectors[np.maximum(rows, 0)], "")
    return FactorRiskModel(symbols, loadings, model.factor_cov, specific, sectors.astype(str), betas,
                           model.annualisation)  # fmt: skip


def _last_close(window: PanelWindow) -> np.ndarray:
    """Last known close per name in the window (NaN when none)."""
    close = window.close if window.close is not None else np.full_like(window.returns, np.nan)
    seen = np.isfinite(close)
    last = np.where(seen.any(axis=0), close.shape[0] - 1 - np.argmax(seen[::-1], axis=0), 0)
    return np.where(seen.any(axis=0), close[last, np.arange(close.shape[1])], np.nan)


class _Upstream:
    """Per-session lookups into the upstream frames (absent engine or session: empty / None)."""

    def __init__(self, upstream: Mapping[str, pl.DataFrame]) -> None:
        def by_session(name: str) -> dict[date, pl.DataFrame]:
            frame = upstream.get(name)
            if frame is None or frame.is_empty():
                return {}
            return {k[0]: g for k, g in frame.partition_by("session", as_dict=True).items()}

        universe = upstream.get("universe")
        self._sessions_with_universe = set() if universe is None else set(universe["session"].to_list())
        self._universe = by_session("universe")
        self._assessment = by_session("assessment")
        self._fragility = by_session("fragility")
        self._regime = by_session("regime")
        self._stability = by_session("stability")

    def has_universe(self, day: date) -> bool:
        return day in self._sessions_with_universe

    def universe(self, day: date) -> list[str]:
        g = self._universe.get(day)
        return [] if g is None else g.filter(pl.col("reason").is_in(list(MEMBER_REASONS)))["instrument"].to_list()

    def alpha(self, day: date) -> dict[str, float]:
        g = self._assessment.get(day)
        if g is None:
            return {}
        g = g.filter(pl.col("expected_return").is_finite())
        return dict(zip(g["instrument"].to_list(), g["expected_return"].to_list(), strict=True))

    def fragility(self, day: date) -> dict[str, float]:
        g = self._fragility.get(day)
        if g is None:
            return {}
        g = g.filter(~pl.col("instrument").str.starts_with("cluster:") & pl.col("score").is_finite())
        return dict(zip(g["instrument"].to_list(), g["score"].to_list(), strict=True))

    def regime(self, day: date) -> str | None:
        g = self._regime.get(day)
        return None if g is None or g.is_empty() else str(g["label"][0])

    def stability(self, day: date) -> float | None:
        g = self._stability.get(day)
        if g is None:
            return None
        market = g.filter(pl.col("instrument") == "")
        score = None if market.is_empty() else market["score"][0]
        return None if score is None else float(score)
