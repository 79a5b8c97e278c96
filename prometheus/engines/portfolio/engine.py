"""The Portfolio & Risk engine: per session, a point-in-time factor risk model, then the optimiser's targets.

Each session's target starts from the previous session's target (turnover cap, trading costs), so the engine walks
its sessions in order. A run starts from ``previous`` (the last target before the run) when given, else from cash
``warmup_sessions`` sessions before its first decided session; the warm-up sessions are decided exactly like the
others (each from the data known at its own decision time) but not returned. A warm-up session without upstream
rows (no universe known) is not walked: the book stays where it was.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, ClassVar

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

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
#: The parts :attr:`PortfolioEngine.timings` splits a run into (seconds of wall time each).
TIMED_PARTS = ("upstream_index", "panel", "risk_model", "session", "optimiser_build", "optimiser_solver", "rows",
               "frames")  # fmt: skip


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
        #: Wall seconds of the last run by part (:data:`TIMED_PARTS`; ``session`` excludes the optimiser's two):
        #: what a benchmark reads to say where the time goes.
        self.timings: dict[str, float] = dict.fromkeys(TIMED_PARTS, 0.0)

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
        # One BLAS thread: the run is many small eigen problems and products (the risk model's Gram matrix, the
        # solver's inputs) where threads cost more than they save, and on a loaded machine (two workers on
        # two cores) the threads' busy waits made its eigen problems ~10x slower. It also makes the weights
        # independent of the machine's core count (threaded products differ in the last bits).
        with threadpool_limits(limits=1, user_api="blas"):
            return self._run(view, ctx, upstream)

    def _run(self, view: TimeMachine, ctx: RunContext, upstream: Mapping[str, pl.DataFrame]) -> EngineResult:
        cfg, cal = self._config, self.calendar or get_calendar()
        warmup = 0 if self.previous is not None else cfg.warmup_sessions
        clock = _Clock(self.timings)
        days, times = history_sessions(cal, ctx, warmup)
        inputs = _Upstream(upstream)
        clock.lap("upstream_index")
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
        clock.lap("frames")
        for step, window in enumerate(panel):
            clock.lap("panel")
            rebalance = step % cfg.rebalance_every == 0 or model is None
            if rebalance:
                model = estimate_risk_model(window.returns, window.symbols, window.sectors, cfg.risk)
                clock.lap("risk_model")
            assert model is not None
            book, found = self._session(window, model, book, inputs, rebalance)
            result: OptimisationResult | None = found["result"]
            if result is not None:
                clock.split("session", optimiser_build=result.solve_seconds - result.solver_seconds,
                            optimiser_solver=result.solver_seconds)  # fmt: skip
            clock.lap("session")
            if window.session in deciding:
                rows.extend(self._rows(ctx, window, found))
                reports.append(self._report(ctx, window, found))
                decisions.append(Decision(window.session, window.decision_time, found["payload"]))
                notes.extend(found["notes"])
            clock.lap("rows")
        frame = pl.DataFrame(rows, schema=dict(self.spec.schema)).sort(["session", "instrument"])
        report = pl.DataFrame(reports, schema=dict(RISK_REPORTS.schema)).sort("session")
        clock.lap("frames")
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
        notes: list[str] = []
        # Name lookups by sorted search, not per-name dicts: at 2,000 names they ran ~10 Python loops per session.
        finder = _Finder(symbols)
        held_names = np.array(list(book), dtype=str)
        held_at = finder.find(held_names)
        # A held name no longer listed (delisted, or no longer in the reference data) leaves at 0.
        gone = sorted(held_names[held_at < 0].tolist())
        if gone:
            notes.append(f"portfolio {day}: {len(gone)} held name(s) not listed, exited at 0: {gone[:5]}")
        current = finder.values(held_at, np.fromiter(book.values(), dtype=float, count=len(book)))
        prices = _last_close(window)
        universe_names = inputs.universe(day)
        universe_at = finder.find(universe_names)
        missing = sorted(set(universe_names[universe_at < 0].tolist()))
        if missing:
            notes.append(f"portfolio {day}: {len(missing)} universe name(s) not in the panel, skipped: {missing[:5]}")
        universe = np.zeros(len(symbols), dtype=bool)
        universe[universe_at[universe_at >= 0]] = True
        unpriced = universe & ~(np.isfinite(prices) & (prices > 0))
        if unpriced.any():
            notes.append(f"portfolio {day}: {int(unpriced.sum())} universe name(s) without a price, skipped")
            universe &= ~unpriced
        alpha_names, alpha_values = inputs.alpha(day)
        alpha_at = finder.find(alpha_names)
        alpha = finder.values(alpha_at, alpha_values)
        frag_names, frag_values = inputs.fragility(day)
        fragility = finder.values(finder.find(frag_names), frag_values)
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
        scored = np.zeros(len(symbols), dtype=bool)
        scored[alpha_at[alpha_at >= 0]] = True
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
        kept = np.flatnonzero(weights != 0)
        new_book = dict(zip(symbols[kept].tolist(), weights[kept].tolist(), strict=True))
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


class _Clock:
    """Wall seconds by part, added to ``seconds``: each lap charges the time since the previous one."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds
        for part in self.seconds:
            self.seconds[part] = 0.0
        self._last = time.perf_counter()

    def lap(self, part: str) -> None:
        now = time.perf_counter()
        self.seconds[part] += now - self._last
        self._last = now

    def split(self, rest: str, **known: float) -> None:
        """The time since the last lap, of which ``known`` seconds went to named parts and the rest to ``rest``."""
        now = time.perf_counter()
        for part, seconds in known.items():
            self.seconds[part] += seconds
        self.seconds[rest] += now - self._last - sum(known.values())
        self._last = now


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


class _Finder:
    """Where names sit among one session's symbols: a binary search over a sorted copy (the symbols in any order)."""

    def __init__(self, symbols: np.ndarray) -> None:
        names = np.asarray(symbols).astype(str)
        self._n = len(names)
        self._order = np.argsort(names, kind="stable")
        self._sorted = names[self._order]

    def find(self, names: np.ndarray) -> np.ndarray:
        """Index into the symbols of each of ``names``; -1 where absent."""
        if not len(names) or not self._n:
            return np.full(len(names), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._sorted, names), self._n - 1)
        return np.where(self._sorted[pos] == names, self._order[pos], -1)

    def values(self, at: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per symbol, the value of the name found there (``at`` from :meth:`find`), 0 where none."""
        out = np.zeros(self._n)
        hit = at >= 0
        out[at[hit]] = values[hit]
        return out


class _BySession:
    """Rows of one upstream frame, as numpy columns sliced by session (one sort per run instead of one frame per
    session and a filter per lookup)."""

    def __init__(self, frame: pl.DataFrame | None, value: str | None) -> None:
        if frame is None or frame.is_empty():
            frame = pl.DataFrame(
                {"session": [], "instrument": []}, schema={"session": pl.Date(), "instrument": pl.String()}
            )
            value = None
        frame = frame.sort("session", maintain_order=True)
        self._days = frame["session"].to_numpy().astype("datetime64[D]")
        self._names = frame["instrument"].to_numpy().astype(str)
        self._values = frame[value].cast(pl.Float64).to_numpy() if value is not None else np.zeros(frame.height)

    def rows(self, day: date) -> slice:
        d = np.datetime64(day, "D")
        return slice(int(np.searchsorted(self._days, d, "left")), int(np.searchsorted(self._days, d, "right")))

    def names(self, day: date) -> np.ndarray:
        return self._names[self.rows(day)]

    def pairs(self, day: date) -> tuple[np.ndarray, np.ndarray]:
        rows = self.rows(day)
        return self._names[rows], self._values[rows]


class _Upstream:
    """Per-session lookups into the upstream frames (absent engine or session: empty / None)."""

    def __init__(self, upstream: Mapping[str, pl.DataFrame]) -> None:
        def present(name: str) -> pl.DataFrame | None:
            frame = upstream.get(name)
            return None if frame is None or frame.is_empty() else frame

        universe = upstream.get("universe")
        self._sessions_with_universe = set() if universe is None else set(universe["session"].unique().to_list())
        # Each frame filtered once to the rows a lookup would keep: members, finite scores, no cluster rows.
        universe, assessment, fragility = present("universe"), present("assessment"), present("fragility")
        self._universe = _BySession(
            None if universe is None else universe.filter(pl.col("reason").is_in(list(MEMBER_REASONS))), None
        )
        self._assessment = _BySession(
            None if assessment is None else assessment.filter(pl.col("expected_return").is_finite()), "expected_return"
        )
        self._fragility = _BySession(
            None
            if fragility is None
            else fragility.filter(~pl.col("instrument").str.starts_with("cluster:") & pl.col("score").is_finite()),
            "score",
        )
        regime, stability = present("regime"), present("stability")
        # The first row of a session decides, as a lookup of its rows would.
        self._regime: dict[date, str] = (
            {}
            if regime is None
            else {d: str(v) for d, v in regime.unique("session", keep="first", maintain_order=True)
                  .select("session", "label").iter_rows()}
        )  # fmt: skip
        market = None if stability is None else stability.filter(pl.col("instrument") == "")
        self._stability: dict[date, float | None] = (
            {}
            if market is None
            else {d: None if v is None else float(v) for d, v in market.unique("session", keep="first",
                  maintain_order=True).select("session", "score").iter_rows()}
        )  # fmt: skip

    def has_universe(self, day: date) -> bool:
        return day in self._sessions_with_universe

    def universe(self, day: date) -> np.ndarray:
        """Member names of the session's universe."""
        return self._universe.names(day)

    def alpha(self, day: date) -> tuple[np.ndarray, np.ndarray]:
        """Names with a finite expected return, and the returns."""
        return self._assessment.pairs(day)

    def fragility(self, day: date) -> tuple[np.ndarray, np.ndarray]:
        """Names (not clusters) with a finite fragility score, and the scores."""
        return self._fragility.pairs(day)

    def regime(self, day: date) -> str | None:
        return self._regime.get(day)

    def stability(self, day: date) -> float | None:
        return self._stability.get(day)
