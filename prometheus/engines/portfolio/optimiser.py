"""The Portfolio & Risk optimiser: factor-model mean-variance with trading costs, limits and a fallback chain.

Maximise ``alpha'w - risk_aversion * risk(w) - cost_aversion * cost(w - w0) - fragility_penalty * f'|w|`` with

* risk in factor form: ``||F^(1/2) y||^2 + ||sqrt(d) * w||^2`` with ``y = B'w`` a variable (daily variance), so the
  problem has n + k variables and no dense n x n matrix;
* costs in convex form, from the simulator's cost model (:mod:`prometheus.core.costs`), per name and as a fraction
  of equity (see :class:`TradeCosts` for the mapping);
* the limits of the ``portfolio:`` section of the risk-limits file (:class:`PortfolioLimits`), the gross cap and an
  optional volatility cap scaled by the regime and stability risk budget.

Solved with Clarabel (HiGHS when the problem is a linear programme). When the solver fails or the problem is
infeasible the chain is: drop the turnover cap (``relaxed_turnover``), then HRP on the universe, then inverse
volatility; each step is recorded in :attr:`OptimisationResult.attempts` and the message. ``baseline:
equal_weight`` skips the solver and returns 1/N over the universe, the mandatory naive baseline.

Names outside the universe: a name not held stays at 0; a held one may only shrink towards 0 (never grow or flip
sign), so an exit is paced by the turnover cap like any other trade instead of making the problem infeasible.
The fallbacks ignore turnover, so there such names go straight to 0. The fallbacks are long-only whatever the
limits say (HRP and inverse volatility allocate risk, they have no view on direction) and cannot aim at a beta band;
what they miss is listed in :attr:`OptimisationResult.breaches`. Sector caps group names by label; the unknown
sector (``''``) is one group, capped like the others (the cautious reading).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

import numpy as np
import scipy.sparse as sp
from pydantic import Field, field_validator

from prometheus.core.config import VersionedConfig
from prometheus.core.costs import CommissionSchedule, CostConfig, CostModel
from prometheus.engines.portfolio.hrp import hrp_weights, inverse_vol_weights
from prometheus.engines.portfolio.limits import PortfolioLimits

Status = Literal["optimal", "relaxed_turnover", "hrp", "inverse_vol", "equal_weight"]

#: Solver statuses whose solution is used (Clarabel's "almost solved" is inaccurate but within tolerance); the
#: values of ``cvxpy.OPTIMAL`` and ``cvxpy.OPTIMAL_INACCURATE``, spelled out so that importing the optimiser does not
#: import cvxpy (about 1 s): only a solve does.
_SOLVED = ("optimal", "optimal_inaccurate")


class RiskModelLike(Protocol):
    """What the optimiser reads of a factor risk model (``risk_model.FactorRiskModel`` fits)."""

    @property
    def symbols(self) -> np.ndarray: ...  # (n,)
    @property
    def loadings(self) -> np.ndarray: ...  # (n, k)
    @property
    def factor_cov(self) -> np.ndarray: ...  # (k, k), daily
    @property
    def specific_var(self) -> np.ndarray: ...  # (n,), daily
    @property
    def sectors(self) -> np.ndarray: ...  # (n,) str
    @property
    def betas(self) -> np.ndarray: ...  # (n,)


class OptimiserConfig(VersionedConfig):
    """How targets are chosen; the limits themselves come from the risk-limits file."""

    kind: ClassVar[str] = "portfolio"

    baseline: Literal["mean_variance", "equal_weight"] = Field(
        "mean_variance", description="equal_weight: 1/N over the universe, no solver (the naive baseline)."
    )
    risk_aversion: float = Field(10.0, ge=0, description="Multiplier on the daily variance of the portfolio.")
    cost_aversion: float = Field(1.0, ge=0, description="Multiplier on the expected trading cost.")
    fragility_penalty: float = Field(0.0, ge=0, description="Multiplier on sum fragility_i * |w_i|.")
    max_vol: float | None = Field(None, gt=0, description="Annualised volatility cap (risk budget), or none.")
    periods_per_year: int = Field(252, gt=0, description="Sessions per year, to annualise daily variance.")
    regime_scale: dict[str, float] = Field(
        default_factory=lambda: {"calm": 1.0, "normal": 0.8, "crisis": 0.5},
        description="Regime label -> multiplier on the risk budget (gross and vol caps); unknown label: the least.",
    )
    stability_floor: float = Field(
        0.5, ge=0, le=1, description="Budget x (floor + (1 - floor) x stability score in [0, 1])."
    )
    costs: CostConfig | None = Field(
        default_factory=CostConfig, description="The simulator's cost parameters (keep them equal); None: free."
    )
    solver: Literal["CLARABEL"] = "CLARABEL"
    lp_solver: Literal["HIGHS"] = "HIGHS"
    time_limit_seconds: float = Field(10.0, gt=0, description="Per solve.")
    # The objective is a few basis points of equity: Clarabel's default 1e-8 absolute gap is below what the power
    # cones of the impact term reach reliably at n = 2000 ("almost solved"); 1e-7 of equity is 0.001 bp.
    gap_tolerance: float = Field(1e-7, gt=0, description="Clarabel's absolute and relative duality-gap tolerance.")

    @field_validator("regime_scale")
    @classmethod
    def _multipliers(cls, value: dict[str, float]) -> dict[str, float]:
        # Above 1 the budget would exceed the limits file, which is the hard ceiling.
        bad = {k: v for k, v in value.items() if not 0 < v <= 1}
        if bad:
            raise ValueError(f"multipliers must be in (0, 1]: {bad}")
        if not value:
            raise ValueError("at least one regime label")
        return value


@dataclass(frozen=True)
class TradeCosts:
    """Convex per-name cost of a weight change ``dw``, as a fraction of equity.

    ``cost_i = linear_i |dw_i| + sell_i neg(dw_i) + impact_i |dw_i|^1.5``. From :class:`CostModel` with trade value
    ``V = |dw| E`` and shares ``Q = V / P``:

    * ``linear`` = half spread + commission per share / P (the per-share rate of the tier the month's volume is in,
      capped at ``max_pct_of_value``) + clearing and exchange fees per share / P (tiered only);
    * ``sell`` = SEC fee rate + FINRA TAF per share / P (sales only: ``dw < 0``);
    * ``impact`` = Y sigma sqrt(E / (P ADV)), because Y sigma sqrt(Q / ADV) x V / E = impact |dw|^1.5 (0 where ADV
      is unknown, as in the simulator).

    Equal to ``CostModel.expected_cost / E`` except for the two non-convex pieces left out: the minimum
    commission per order (a fixed cost) and the TAF cap per trade (a concave cap).
    """

    linear: np.ndarray
    sell: np.ndarray
    impact: np.ndarray

    @classmethod
    def from_model(
        cls,
        model: CostModel,
        *,
        prices: np.ndarray,
        adv: np.ndarray,
        sigma_daily: np.ndarray,
        equity: float,
        month_volume_before: float = 0.0,
    ) -> TradeCosts:
        """Coefficients per name; ``prices`` must be positive (ADV in shares, sigma a daily return sd)."""
        cfg = model.config
        price = np.asarray(prices, dtype=float)
        if cfg.schedule is CommissionSchedule.FIXED:
            per_share, extra = cfg.fixed_per_share, 0.0
        else:
            per_share = float(model.tier_rate(np.array([month_volume_before]))[0])
            extra = cfg.clearing_per_share + cfg.exchange_per_share
        commission = np.minimum(per_share / price, cfg.max_pct_of_value) + extra / price
        linear = cfg.half_spread_bps / 1e4 + commission
        sell = cfg.sec_fee_rate + cfg.finra_taf_per_share / price
        adv = np.asarray(adv, dtype=float)
        ok = np.isfinite(adv) & (adv > 0)
        sigma = np.nan_to_num(np.asarray(sigma_daily, dtype=float), nan=0.0)
        impact = np.where(ok, cfg.impact_coefficient * sigma * np.sqrt(equity / (price * np.where(ok, adv, 1.0))), 0.0)
        return cls(linear=linear, sell=sell, impact=impact)

    @classmethod
    def zero(cls, n: int) -> TradeCosts:
        """No costs (``OptimiserConfig.costs = None``)."""
        return cls(np.zeros(n), np.zeros(n), np.zeros(n))

    def cost(self, dw: np.ndarray) -> np.ndarray:
        """Cost per name of the weight changes ``dw``, as a fraction of equity."""
        a = np.abs(dw)
        return self.linear * a + self.sell * np.maximum(-dw, 0.0) + self.impact * a**1.5


@dataclass(frozen=True)
class ObjectiveParts:
    """The objective's terms at the chosen weights (fractions of equity; risk is daily variance)."""

    expected_return: float
    risk: float
    cost: float
    fragility: float
    total: float


@dataclass(frozen=True)
class Attempt:
    """One step of the fallback chain: what was tried, whether it was used, and why not."""

    status: Status
    ok: bool
    detail: str


@dataclass(frozen=True)
class OptimisationResult:
    """Target weights and how they were reached.

    ``solve_seconds`` is the wall time of the whole :func:`optimise` call (problem build and every attempt), of
    which ``solver_seconds`` were spent in the solver itself (the rest builds and compiles the problems);
    ``budget_scale`` the regime x stability multiplier applied to the gross and volatility caps (1 for the
    baseline); ``breaches`` the limits the weights miss: none for ``optimal``, the turnover cap for
    ``relaxed_turnover``, and for the long-only fallbacks whatever they could not meet (turnover, a beta band).
    """

    weights: np.ndarray
    status: Status
    objective: ObjectiveParts
    solve_seconds: float
    message: str
    attempts: tuple[Attempt, ...]
    budget_scale: float
    breaches: tuple[str, ...]
    solver_seconds: float = 0.0


def budget_scale(cfg: OptimiserConfig, regime_label: str | None, stability: float | None) -> tuple[float, str]:
    """Regime x stability multiplier on the risk budget, and a phrase saying how it was reached."""
    notes = []
    regime = 1.0
    if regime_label is not None:
        if regime_label in cfg.regime_scale:
            regime = cfg.regime_scale[regime_label]
        else:
            # An unknown label gets the most cautious budget configured, never the full one.
            regime = min(cfg.regime_scale.values())
            notes.append(f"unknown regime {regime_label!r}: least budget")
        notes.append(f"regime {regime_label} x{regime:.2f}")
    stab = 1.0
    if stability is not None:
        # A missing (NaN) score is treated as the least stable market.
        score = float(np.clip(stability, 0.0, 1.0)) if np.isfinite(stability) else 0.0
        stab = cfg.stability_floor + (1.0 - cfg.stability_floor) * score
        notes.append(f"stability {score:.2f} x{stab:.2f}")
    scale = regime * stab
    return scale, f"budget scale {scale:.3f}" + (f": {', '.join(notes)}" if notes else "")


@dataclass(frozen=True)
class _Prepared:
    """Validated inputs over all n names; ``free`` indexes the names that may hold weight."""

    alpha: np.ndarray
    current: np.ndarray
    mask: np.ndarray
    free: np.ndarray
    costs: TradeCosts
    fragility: np.ndarray
    factor_root: np.ndarray


def optimise(
    alpha: np.ndarray,
    risk: RiskModelLike,
    current: np.ndarray,
    limits: PortfolioLimits,
    cfg: OptimiserConfig,
    *,
    adv: np.ndarray,
    sigma_daily: np.ndarray,
    prices: np.ndarray,
    equity: float,
    universe: np.ndarray | None = None,
    fragility: np.ndarray | None = None,
    regime_label: str | None = None,
    stability: float | None = None,
    month_volume_before: float = 0.0,
) -> OptimisationResult:
    """Target weights (n,) over ``risk.symbols``, as fractions of equity.

    ``alpha``: expected returns over the horizon ``risk_aversion`` is set for; ``current``: held weights; ``adv``:
    average daily volume in shares; ``sigma_daily``: daily return sd (for impact); ``prices`` and ``equity`` turn
    weights into shares for the cost model; ``universe``: boolean mask of names that may be bought (default all);
    ``fragility``: scores >= 0 (NaN: 0); ``stability``: score in [0, 1]; ``month_volume_before``: shares traded
    this month (the commission tier).

    Raises
    ------
    ValueError
        Inputs of the wrong shape, a non-finite alpha or risk model, a bad price of a name that may trade.
    RuntimeError
        Every step of the chain failed (only when even inverse volatility cannot be formed).
    """
    start = time.perf_counter()
    prep = _prepare(alpha, risk, current, universe, fragility, adv, sigma_daily, prices, equity, cfg,
                    month_volume_before)  # fmt: skip
    scale, scale_note = budget_scale(cfg, regime_label, stability)
    attempts: list[Attempt] = []
    in_solver = [0.0]  # seconds inside the solver over the attempts (a cell: ``done`` reads it)

    def done(weights: np.ndarray, status: Status, detail: str, used: float | None = None) -> OptimisationResult:
        attempts.append(Attempt(status, True, detail))
        used = scale if used is None else used
        found = tuple(breaches(weights, prep.current, limits, risk, prep.mask, scale=used, cfg=cfg))
        chain = "; ".join(f"{a.status}: {a.detail}" for a in attempts)
        return OptimisationResult(
            weights=weights,
            status=status,
            objective=_parts(weights, prep, risk, cfg),
            solve_seconds=time.perf_counter() - start,
            message=f"{status} ({scale_note}). {chain}" + (f". Breaches: {'; '.join(found)}" if found else ""),
            attempts=tuple(attempts),
            budget_scale=used,
            breaches=found,
            solver_seconds=in_solver[0],
        )

    n = len(prep.alpha)
    if cfg.baseline == "equal_weight":
        # The naive baseline: no risk model, no regime scaling; only the limits file bounds it.
        weights = _allocate(np.ones(int(prep.mask.sum())), prep.mask, limits, risk, 1.0)
        return done(weights, "equal_weight", "baseline 1/N over the universe", used=1.0)

    steps: tuple[tuple[Status, float | None], ...] = (
        ("optimal", limits.max_turnover),
        ("relaxed_turnover", None),
    )
    for status, turnover in steps:
        if status == "relaxed_turnover" and limits.max_turnover is None:
            attempts.append(Attempt(status, False, "skipped: no turnover cap to relax"))
            continue
        solved, detail, seconds = _solve(prep, risk, limits, cfg, scale, turnover)
        in_solver[0] += seconds
        if solved is not None:
            weights = np.zeros(n)
            weights[prep.free] = solved
            # An inaccurate solve can end outside a limit: such a solution is a failure, not a target.
            missed = [
                b
                for b in breaches(weights, prep.current, limits, risk, prep.mask, scale=scale, cfg=cfg)
                if turnover is not None or not b.startswith("turnover")
            ]
            if not missed:
                return done(weights, status, detail)
            detail = f"{detail}, but misses {'; '.join(missed)}"
        attempts.append(Attempt(status, False, detail))

    cov = _covariance(risk, prep.mask)
    fallbacks: tuple[tuple[Status, Callable[[np.ndarray], np.ndarray]], ...] = (
        ("hrp", hrp_weights),
        ("inverse_vol", lambda c: inverse_vol_weights(np.sqrt(np.diag(c)))),
    )
    for status, allocator in fallbacks:
        try:
            raw = allocator(cov)
            if not np.all(np.isfinite(raw)):
                raise ValueError("non-finite weights")
        except Exception as exc:  # noqa: BLE001 - any failure moves down the chain, and is recorded
            attempts.append(Attempt(status, False, f"failed: {exc}"))
            continue
        weights = _allocate(raw, prep.mask, limits, risk, scale)
        if cfg.max_vol is not None:
            # Last, and by a common factor, so the caps already met stay met.
            vol = np.sqrt(_variance(weights, risk, prep.factor_root) * cfg.periods_per_year)
            if vol > cfg.max_vol * scale:
                weights *= cfg.max_vol * scale / vol
        detail = f"long-only {status} over {int(prep.mask.sum())} universe names, scaled and clipped to the caps"
        return done(weights, status, detail)
    raise RuntimeError("every step failed: " + "; ".join(f"{a.status}: {a.detail}" for a in attempts))


def _prepare(
    alpha: np.ndarray,
    risk: RiskModelLike,
    current: np.ndarray,
    universe: np.ndarray | None,
    fragility: np.ndarray | None,
    adv: np.ndarray,
    sigma_daily: np.ndarray,
    prices: np.ndarray,
    equity: float,
    cfg: OptimiserConfig,
    month_volume_before: float,
) -> _Prepared:
    n = len(risk.symbols)
    alpha = np.asarray(alpha, dtype=float)
    current = np.asarray(current, dtype=float)
    mask = np.ones(n, dtype=bool) if universe is None else np.asarray(universe, dtype=bool)
    frag = np.zeros(n) if fragility is None else np.nan_to_num(np.asarray(fragility, dtype=float), nan=0.0)
    arrays = {"alpha": alpha, "current": current, "universe": mask, "fragility": frag, "adv": adv,
              "sigma_daily": sigma_daily, "prices": prices}  # fmt: skip
    for name, arr in arrays.items():
        if np.shape(arr) != (n,):
            raise ValueError(f"{name} must have shape ({n},), got {np.shape(arr)}")
    k = risk.loadings.shape[1] if risk.loadings.ndim == 2 else -1
    if risk.loadings.shape != (n, k) or risk.factor_cov.shape != (k, k) or risk.specific_var.shape != (n,):
        raise ValueError("risk model: loadings (n, k), factor_cov (k, k) and specific_var (n,) disagree")
    finite = {"alpha": alpha, "current": current, "loadings": risk.loadings, "factor_cov": risk.factor_cov,
              "specific_var": risk.specific_var, "betas": risk.betas}  # fmt: skip
    for name, arr in finite.items():
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
    if np.any(risk.specific_var < 0) or np.any(frag < 0):
        raise ValueError("specific_var and fragility must be >= 0")
    if not equity > 0:
        raise ValueError(f"equity must be positive, got {equity}")
    free = mask | (current != 0)
    price = np.asarray(prices, dtype=float)
    if not np.all(np.isfinite(price[free]) & (price[free] > 0)):
        raise ValueError("prices of names in the universe or held must be finite and positive")
    safe = np.where(free, price, 1.0)  # names pinned at 0 never trade: their price does not matter
    costs = (
        TradeCosts.zero(n)
        if cfg.costs is None
        else TradeCosts.from_model(
            CostModel(cfg.costs), prices=safe, adv=np.asarray(adv, dtype=float), sigma_daily=sigma_daily,
            equity=equity, month_volume_before=month_volume_before,
        )
    )  # fmt: skip
    return _Prepared(alpha, current, mask, np.flatnonzero(free), costs, frag, _psd_root(risk.factor_cov))


def _psd_root(cov: np.ndarray) -> np.ndarray:
    """R with R R' = cov (eigen-decomposition: a rank-deficient factor covariance is fine, Cholesky is not)."""
    vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    return vecs * np.sqrt(np.clip(vals, 0.0, None))


def _bounds(prep: _Prepared, limits: PortfolioLimits) -> tuple[np.ndarray, np.ndarray]:
    """Per-name lower and upper bounds of the free names (inf: none)."""
    m = len(prep.free)
    cap = np.inf if limits.max_weight is None else limits.max_weight
    lo, hi = np.full(m, -cap), np.full(m, cap)
    if limits.long_only:
        lo = np.maximum(lo, 0.0)
    held = prep.current[prep.free]
    out = ~prep.mask[prep.free]
    # Outside the universe a held position may only shrink towards 0: between 0 and what is held.
    lo[out] = np.maximum(lo[out], np.minimum(held[out], 0.0))
    hi[out] = np.minimum(hi[out], np.maximum(held[out], 0.0))
    return lo, hi


def _solve(
    prep: _Prepared,
    risk: RiskModelLike,
    limits: PortfolioLimits,
    cfg: OptimiserConfig,
    scale: float,
    max_turnover: float | None,
) -> tuple[np.ndarray | None, str, float]:
    """Solve over the free names; (weights, detail) or (None, why it failed), and the seconds in the solver."""
    import cvxpy as cp

    idx = prep.free
    m = len(idx)
    alpha, w0 = prep.alpha[idx], prep.current[idx]
    loadings, spec = risk.loadings[idx], risk.specific_var[idx]
    lin, sell, imp = prep.costs.linear[idx], prep.costs.sell[idx], prep.costs.impact[idx]
    lo, hi = _bounds(prep, limits)

    w = cp.Variable(m)
    t = cp.Variable(m)  # t >= |w - w0|: tight at the optimum wherever a cost or the turnover cap prices it
    dw = w - w0
    cons = [t >= dw, t >= -dw]
    for sel, side in ((np.isfinite(lo), "lo"), (np.isfinite(hi), "hi")):
        if sel.all():
            cons.append(w >= lo if side == "lo" else w <= hi)
        elif sel.any():
            pos = np.flatnonzero(sel)
            cons.append(w[pos] >= lo[pos] if side == "lo" else w[pos] <= hi[pos])

    use_risk = cfg.risk_aversion > 0 or cfg.max_vol is not None
    variance: cp.Expression | float = 0.0
    if use_risk:
        variance = cp.sum_squares(cp.multiply(np.sqrt(spec), w))
        if loadings.shape[1]:  # k = 0: a diagonal model, nothing to add
            y = cp.Variable(loadings.shape[1])
            cons.append(y == loadings.T @ w)
            variance = variance + cp.sum_squares(prep.factor_root.T @ y)
        if cfg.max_vol is not None:
            cons.append(variance <= (cfg.max_vol * scale) ** 2 / cfg.periods_per_year)

    cost: cp.Expression = lin @ t + sell @ (t - dw) / 2  # (t - dw) / 2 = neg(dw) when t = |dw|: the sales
    impact = np.flatnonzero(imp > 0)
    if impact.size and cfg.cost_aversion > 0:
        cost = cost + imp[impact] @ cp.power(t[impact], 1.5)
    penalty = 0.0
    if cfg.fragility_penalty > 0 and np.any(prep.fragility[idx] > 0):
        penalty = prep.fragility[idx] @ cp.abs(w)

    gross = cp.sum(w) if limits.long_only else cp.norm1(w)
    if limits.max_gross is not None:
        cons.append(gross <= limits.max_gross * scale)
    if limits.max_net is not None:
        cons.append(cp.abs(cp.sum(w)) <= limits.max_net)
    if limits.min_net is not None:
        cons.append(cp.sum(w) >= limits.min_net)
    if limits.max_sector is not None:
        labels, which = np.unique(risk.sectors[idx].astype(str), return_inverse=True)
        member = sp.csr_matrix((np.ones(m), (which, np.arange(m))), shape=(len(labels), m))
        cons.append(cp.abs(member @ w) <= limits.max_sector)
    if limits.beta_band is not None:
        beta = risk.betas[idx] @ w
        cons += [beta >= limits.beta_band[0], beta <= limits.beta_band[1]]
    if max_turnover is not None:
        cons.append(cp.sum(t) <= 2.0 * max_turnover)  # one-way turnover = sum |dw| / 2

    objective = alpha @ w - cfg.risk_aversion * variance - cfg.cost_aversion * cost - cfg.fragility_penalty * penalty
    problem = cp.Problem(cp.Maximize(objective), cons)
    # A linear programme (no risk term, no impact) goes to HiGHS, the rest to the conic solver.
    linear = not use_risk and not (impact.size and cfg.cost_aversion > 0)
    solver = cfg.lp_solver if linear else cfg.solver
    began = time.perf_counter()
    options: dict[str, float] = {"time_limit": cfg.time_limit_seconds}
    if solver == "CLARABEL":
        options |= {"tol_gap_abs": cfg.gap_tolerance, "tol_gap_rel": cfg.gap_tolerance}
    try:
        with warnings.catch_warnings():
            # cvxpy warns on an inaccurate solution; the status says so and is recorded in the result.
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver=solver, **options)
    except (cp.error.SolverError, ValueError, ArithmeticError) as exc:
        return None, f"{solver} failed: {exc}", 0.0
    seconds = time.perf_counter() - began
    # cvxpy's own split of the call: compiling the problem to the solver's form, then the solver's run.
    inside = seconds - float(problem.compilation_time or 0.0)
    if problem.status not in _SOLVED or w.value is None:
        return None, f"{solver} {problem.status} after {seconds:.3f}s", inside
    # Solver tolerance can leave a hair outside a box bound; the box is exact by construction, so clip to it.
    return np.clip(np.asarray(w.value), lo, hi), f"{solver} {problem.status} in {seconds:.3f}s", inside


def _covariance(risk: RiskModelLike, mask: np.ndarray) -> np.ndarray:
    """Dense covariance of the universe names (fallbacks only: HRP needs the full matrix)."""
    b = risk.loadings[mask]
    return b @ risk.factor_cov @ b.T + np.diag(risk.specific_var[mask])


def _allocate(
    raw: np.ndarray,
    mask: np.ndarray,
    limits: PortfolioLimits,
    risk: RiskModelLike,
    scale: float,
) -> np.ndarray:
    """Long-only weights from ``raw`` (summing to 1 over the universe) within the gross, net and caps.

    Invested ``min(1, max_gross x scale, max_net)``, then each name clipped to ``max_weight`` and each sector over
    ``max_sector`` scaled down to it. Clipping only removes weight, so every cap holds together; what was clipped
    stays in cash. Names outside the universe go to 0.
    """
    n = len(mask)
    weights = np.zeros(n)
    if raw.size == 0:
        return weights
    total = 1.0
    if limits.max_gross is not None:
        total = min(total, limits.max_gross * scale)
    if limits.max_net is not None:
        total = min(total, limits.max_net)
    weights[mask] = raw / raw.sum() * total
    if limits.max_weight is not None:
        weights = np.minimum(weights, limits.max_weight)
    if limits.max_sector is not None:
        labels, which = np.unique(risk.sectors.astype(str), return_inverse=True)
        sums = np.bincount(which, weights=weights, minlength=len(labels))
        factor = np.where(sums > limits.max_sector, limits.max_sector / np.where(sums > 0, sums, 1.0), 1.0)
        weights = weights * factor[which]
    return weights


def _variance(weights: np.ndarray, risk: RiskModelLike, factor_root: np.ndarray) -> float:
    y = factor_root.T @ (risk.loadings.T @ weights)
    return float(y @ y + risk.specific_var @ weights**2)


def _parts(weights: np.ndarray, prep: _Prepared, risk: RiskModelLike, cfg: OptimiserConfig) -> ObjectiveParts:
    ret = float(prep.alpha @ weights)
    var = _variance(weights, risk, prep.factor_root)
    cost = float(prep.costs.cost(weights - prep.current).sum())
    frag = float(prep.fragility @ np.abs(weights))
    total = ret - cfg.risk_aversion * var - cfg.cost_aversion * cost - cfg.fragility_penalty * frag
    return ObjectiveParts(expected_return=ret, risk=var, cost=cost, fragility=frag, total=total)


def breaches(
    weights: np.ndarray,
    current: np.ndarray,
    limits: PortfolioLimits,
    risk: RiskModelLike,
    universe: np.ndarray,
    *,
    scale: float = 1.0,
    cfg: OptimiserConfig | None = None,
    tol: float = 1e-6,
) -> list[str]:
    """The limits ``weights`` miss by more than ``tol``, one phrase each (empty: all met)."""
    w, w0 = np.asarray(weights, dtype=float), np.asarray(current, dtype=float)
    found: list[str] = []

    def over(name: str, value: float, bound: float) -> None:
        if value > bound + tol:
            found.append(f"{name} {value:.6g} > {bound:.6g}")

    if limits.max_gross is not None:
        over("gross", float(np.abs(w).sum()), limits.max_gross * scale)
    net = float(w.sum())
    if limits.max_net is not None:
        over("|net|", abs(net), limits.max_net)
    if limits.min_net is not None:
        over("-net", -net, -limits.min_net)
    if limits.max_weight is not None:
        over("max |weight|", float(np.abs(w).max(initial=0.0)), limits.max_weight)
    if limits.max_sector is not None and w.size:
        labels, which = np.unique(risk.sectors.astype(str), return_inverse=True)
        sums = np.bincount(which, weights=w, minlength=len(labels))
        over("max |sector|", float(np.abs(sums).max()), limits.max_sector)
    if limits.beta_band is not None:
        beta = float(risk.betas @ w)
        over("beta", beta, limits.beta_band[1])
        over("-beta", -beta, -limits.beta_band[0])
    if limits.max_turnover is not None:
        over("turnover", float(np.abs(w - w0).sum() / 2), limits.max_turnover)
    if limits.long_only:
        over("short weight", float(-w.min(initial=0.0)), 0.0)
    out = ~np.asarray(universe, dtype=bool)
    grown = out & ((np.abs(w) > np.abs(w0) + tol) | (w * w0 < -tol * tol))
    if grown.any():
        found.append(f"{int(grown.sum())} name(s) outside the universe grown or flipped")
    if cfg is not None and cfg.max_vol is not None:
        root = _psd_root(risk.factor_cov)
        vol = float(np.sqrt(_variance(w, risk, root) * cfg.periods_per_year))
        over("vol", vol, cfg.max_vol * scale * (1 + 1e-4))
    return found
