"""The optimiser: every limit holds on random instances, the fallback chain, baseline, costs, penalties, budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from prometheus.core.costs import CommissionSchedule, CostConfig, CostModel
from prometheus.engines.portfolio import optimiser
from prometheus.engines.portfolio.limits import PortfolioLimits
from prometheus.engines.portfolio.optimiser import (
    OptimisationResult,
    OptimiserConfig,
    TradeCosts,
    budget_scale,
    optimise,
)

TOL = 1e-6
SECTORS = np.array(["Tech", "Energy", "Health", "Banks", "Retail"])


@dataclass(frozen=True)
class HandRiskModel:
    """A small factor risk model built by hand (the optimiser's RiskModelLike)."""

    symbols: np.ndarray
    loadings: np.ndarray
    factor_cov: np.ndarray
    specific_var: np.ndarray
    sectors: np.ndarray
    betas: np.ndarray

    def covariance(self) -> np.ndarray:
        return self.loadings @ self.factor_cov @ self.loadings.T + np.diag(self.specific_var)


@dataclass(frozen=True)
class Instance:
    """A seeded problem: risk model, alpha and the market data the cost model needs."""

    risk: HandRiskModel
    alpha: np.ndarray
    market: dict[str, Any]

    @property
    def n(self) -> int:
        return len(self.alpha)


def make_instance(seed: int, n: int = 60, k: int = 5) -> Instance:
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0.0, 0.5, (n, k))
    loadings[:, 0] = rng.normal(1.0, 0.3, n)  # the market factor: its loading is the beta
    vols = np.concatenate([[0.012], rng.uniform(0.003, 0.008, k - 1)])
    factor_cov = np.diag(vols**2)
    risk = HandRiskModel(
        symbols=np.array([f"S{i:03d}" for i in range(n)]),
        loadings=loadings,
        factor_cov=factor_cov,
        specific_var=rng.uniform(0.01, 0.03, n) ** 2,
        sectors=SECTORS[rng.integers(0, len(SECTORS), n)],
        betas=loadings[:, 0].copy(),
    )
    market = {
        "adv": rng.uniform(2e5, 5e6, n),
        "sigma_daily": rng.uniform(0.01, 0.03, n),
        "prices": rng.uniform(10.0, 300.0, n),
        "equity": 5e6,
    }
    return Instance(risk, rng.normal(0.0, 0.002, n), market)


def limits(**overrides: Any) -> PortfolioLimits:
    values: dict[str, Any] = {
        "max_gross": 1.5,
        "max_net": 0.3,
        "min_net": -0.1,
        "max_weight": 0.05,
        "max_sector": 0.2,
        "beta_band": (-0.2, 0.2),
        "max_turnover": 0.4,
        "long_only": False,
    }
    return PortfolioLimits.model_validate(values | overrides)


def run(inst: Instance, lim: PortfolioLimits, cfg: OptimiserConfig | None = None, current=None, **kw: Any):
    current = np.zeros(inst.n) if current is None else current
    return optimise(inst.alpha, inst.risk, current, lim, cfg or OptimiserConfig(), **inst.market, **kw)


def assert_within_limits(
    res: OptimisationResult,
    inst: Instance,
    lim: PortfolioLimits,
    current: np.ndarray,
    universe: np.ndarray,
    scale: float = 1.0,
    turnover: bool = True,
) -> None:
    """Checks each limit from the weights alone (independent of the optimiser's own breach report)."""
    w = res.weights
    gross, net = np.abs(w).sum(), w.sum()
    if lim.max_gross is not None:
        assert gross <= lim.max_gross * scale + TOL
    if lim.max_net is not None:
        assert abs(net) <= lim.max_net + TOL
    if lim.min_net is not None:
        assert net >= lim.min_net - TOL
    if lim.max_weight is not None:
        assert np.abs(w).max() <= lim.max_weight + TOL
    if lim.max_sector is not None:
        for sector in np.unique(inst.risk.sectors):
            assert abs(w[inst.risk.sectors == sector].sum()) <= lim.max_sector + TOL
    if lim.beta_band is not None:
        beta = inst.risk.betas @ w
        assert lim.beta_band[0] - TOL <= beta <= lim.beta_band[1] + TOL
    if turnover and lim.max_turnover is not None:
        assert np.abs(w - current).sum() / 2 <= lim.max_turnover + TOL
    if lim.long_only:
        assert w.min() >= -TOL
    out = ~universe
    # Outside the universe: never grows, never flips sign.
    assert np.all(np.abs(w[out]) <= np.abs(current[out]) + TOL)
    assert np.all(w[out] * current[out] >= -TOL)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("long_only", [False, True], ids=["long_short", "long_only"])
def test_optimise_when_random_instance_solved_meets_every_limit(seed: int, long_only: bool) -> None:
    inst = make_instance(seed)
    rng = np.random.default_rng(100 + seed)
    universe = rng.random(inst.n) > 0.15
    # A held book within the caps, small enough that all-cash is reachable within the turnover cap (feasible).
    current = rng.uniform(-0.01, 0.01, inst.n) * (rng.random(inst.n) > 0.5)
    if long_only:
        current = np.abs(current)
        lim = limits(long_only=True, max_net=1.0, min_net=None, beta_band=(0.0, 0.9), max_gross=1.0)
    else:
        lim = limits()
    res = run(inst, lim, current=current, universe=universe, regime_label="normal", stability=0.5)

    assert res.status == "optimal", res.message
    assert res.budget_scale == pytest.approx(0.8 * 0.75)
    assert_within_limits(res, inst, lim, current, universe, scale=res.budget_scale)
    assert res.breaches == ()
    assert np.all(res.weights[~universe & (current == 0)] == 0)
    assert res.objective.expected_return == pytest.approx(inst.alpha @ res.weights)


def test_optimise_when_no_turnover_cap_held_name_outside_universe_still_only_shrinks() -> None:
    inst = make_instance(1)
    universe = np.ones(inst.n, dtype=bool)
    universe[:4] = False
    current = np.zeros(inst.n)
    current[:4] = [0.03, -0.03, 0.02, 0.0]
    alpha = inst.alpha.copy()
    alpha[:4] = [0.05, -0.05, -0.05, 0.05]  # the optimiser would love to grow or flip them
    res = optimise(alpha, inst.risk, current, limits(max_turnover=None), OptimiserConfig(), universe=universe,
                   **inst.market)  # fmt: skip

    assert res.status == "optimal", res.message
    w = res.weights[:4]
    assert 0 - TOL <= w[0] <= 0.03 + TOL
    assert -0.03 - TOL <= w[1] <= 0 + TOL
    assert 0 - TOL <= w[2] <= 0.02 + TOL  # negative alpha: it would short, may only go to 0
    assert w[3] == 0


def test_optimise_when_beta_band_unreachable_falls_back_to_hrp_then_inverse_vol(monkeypatch) -> None:
    inst = make_instance(2)
    # Betas near 1 and 5 % per name cap the portfolio beta near 3: a band of [5, 6] no portfolio meets.
    lim = limits(beta_band=(5.0, 6.0), max_gross=1.0, max_net=1.0, min_net=None, long_only=True)
    res = run(inst, lim)

    assert [(a.status, a.ok) for a in res.attempts] == [
        ("optimal", False),
        ("relaxed_turnover", False),
        ("hrp", True),
    ]
    assert res.status == "hrp"
    assert "infeasible" in res.attempts[0].detail
    assert all(f"{step}:" in res.message for step in ("optimal", "relaxed_turnover", "hrp"))
    assert any(b.startswith("-beta") for b in res.breaches)  # the fallback cannot meet the band, and says so
    # The fallback ignores turnover and the band; every other limit holds.
    assert_within_limits(res, inst, lim.model_copy(update={"beta_band": None}), np.zeros(inst.n),
                         np.ones(inst.n, dtype=bool), turnover=False)  # fmt: skip

    def broken(cov: np.ndarray) -> np.ndarray:
        raise ValueError("linkage failed")

    monkeypatch.setattr(optimiser, "hrp_weights", broken)
    lim = lim.model_copy(update={"max_weight": None, "max_sector": None})  # nothing clipped: pure 1 / vol
    res = run(inst, lim)
    assert [(a.status, a.ok) for a in res.attempts] == [
        ("optimal", False),
        ("relaxed_turnover", False),
        ("hrp", False),
        ("inverse_vol", True),
    ]
    assert res.status == "inverse_vol"
    assert "linkage failed" in res.message
    inv = 1 / np.sqrt(np.diag(inst.risk.covariance()))
    assert res.weights == pytest.approx(inv / inv.sum())


def test_optimise_when_only_turnover_blocks_relaxes_it() -> None:
    inst = make_instance(3)
    current = np.zeros(inst.n)
    current[0] = 0.2  # four times the per-name cap: cutting it alone turns over 0.075
    lim = limits(max_turnover=0.01)
    res = run(inst, lim, current=current)

    assert res.status == "relaxed_turnover", res.message
    assert [(a.status, a.ok) for a in res.attempts] == [("optimal", False), ("relaxed_turnover", True)]
    assert_within_limits(res, inst, lim, current, np.ones(inst.n, dtype=bool), turnover=False)
    assert any(b.startswith("turnover") for b in res.breaches)


def test_optimise_when_no_turnover_cap_skips_the_relaxation_step() -> None:
    inst = make_instance(4)
    res = run(inst, limits(max_turnover=None, beta_band=(5.0, 6.0)))
    assert [(a.status, a.ok) for a in res.attempts][:2] == [("optimal", False), ("relaxed_turnover", False)]
    assert res.attempts[1].detail.startswith("skipped")


def test_optimise_when_baseline_equal_weight_returns_one_over_n_of_the_universe() -> None:
    inst = make_instance(5, n=40)
    universe = np.arange(40) < 25
    cfg = OptimiserConfig(baseline="equal_weight")
    lim = limits(max_weight=None, max_sector=None, max_gross=1.0, max_net=1.0, min_net=None, beta_band=None)
    res = run(inst, lim, cfg, universe=universe, regime_label="crisis")

    assert res.status == "equal_weight"
    assert res.weights[universe] == pytest.approx(np.full(25, 1 / 25))
    assert np.all(res.weights[~universe] == 0)
    assert res.budget_scale == 1.0  # the naive baseline takes no regime view


def test_optimise_when_baseline_equal_weight_over_cap_is_clipped_to_it() -> None:
    inst = make_instance(5, n=10)
    lim = limits(max_weight=0.05, max_sector=None, max_net=1.0, min_net=None)
    res = run(inst, lim, OptimiserConfig(baseline="equal_weight"))
    assert res.weights == pytest.approx(np.full(10, 0.05))


def test_optimise_when_costs_charged_turns_over_less() -> None:
    inst = make_instance(6)
    current = np.random.default_rng(6).uniform(-0.02, 0.02, inst.n)
    lim = limits(max_turnover=None, max_gross=2.0, max_net=1.0, min_net=None, beta_band=None)
    free = run(inst, lim, OptimiserConfig(costs=None), current=current)
    costly = run(inst, lim, OptimiserConfig(costs=CostConfig(half_spread_bps=20.0), cost_aversion=3.0),
                 current=current)  # fmt: skip

    def turnover(r: OptimisationResult) -> float:
        return float(np.abs(r.weights - current).sum() / 2)

    assert free.status == costly.status == "optimal"
    assert turnover(costly) < 0.8 * turnover(free)
    assert free.objective.cost == 0.0
    assert costly.objective.cost > 0.0


def test_optimise_when_fragility_penalised_holds_less_of_fragile_names() -> None:
    inst = make_instance(7)
    fragility = np.zeros(inst.n)
    fragility[::3] = 1.0
    lim = limits(max_turnover=None)
    plain = run(inst, lim, OptimiserConfig(), fragility=fragility)
    penalised = run(inst, lim, OptimiserConfig(fragility_penalty=0.002), fragility=fragility)

    fragile = fragility > 0
    assert np.abs(penalised.weights[fragile]).sum() < 0.5 * np.abs(plain.weights[fragile]).sum()
    assert penalised.objective.fragility < plain.objective.fragility


def test_optimise_when_regime_or_stability_worse_holds_less_gross() -> None:
    inst = make_instance(8)
    strong = Instance(inst.risk, inst.alpha * 20, inst.market)  # strong signals: the gross cap binds
    lim = limits(max_turnover=None, max_gross=1.0, max_weight=0.1, max_sector=None, beta_band=None,
                 max_net=None, min_net=None)  # fmt: skip
    gross = {}
    for label, stability in (("calm", None), ("crisis", None), ("calm", 0.0)):
        res = run(strong, lim, regime_label=label, stability=stability)
        assert res.status == "optimal", res.message
        gross[(label, stability)] = np.abs(res.weights).sum()

    assert gross[("calm", None)] == pytest.approx(1.0, abs=1e-4)
    assert gross[("crisis", None)] == pytest.approx(0.5, abs=1e-4)
    assert gross[("calm", 0.0)] == pytest.approx(0.5, abs=1e-4)  # floor 0.5 at stability 0


def test_budget_scale_when_label_unknown_uses_least_budget_and_says_so() -> None:
    scale, note = budget_scale(OptimiserConfig(), "martian", 1.0)
    assert scale == 0.5
    assert "unknown regime 'martian'" in note
    assert budget_scale(OptimiserConfig(), None, float("nan"))[0] == 0.5  # a missing score: least stable


def test_optimise_when_vol_capped_meets_the_cap_scaled_by_the_budget() -> None:
    inst = make_instance(9)
    cfg = OptimiserConfig(max_vol=0.05, risk_aversion=0.0)
    res = run(inst, limits(max_turnover=None), cfg, regime_label="normal")
    vol = np.sqrt(res.weights @ inst.risk.covariance() @ res.weights * 252)
    assert res.status == "optimal"
    assert vol <= 0.05 * 0.8 * (1 + 1e-4)


def test_optimise_when_linear_programme_uses_highs() -> None:
    inst = make_instance(10)
    res = run(inst, limits(), OptimiserConfig(risk_aversion=0.0, costs=None))
    assert res.status == "optimal"
    assert "HIGHS" in res.attempts[-1].detail
    assert_within_limits(res, inst, limits(), np.zeros(inst.n), np.ones(inst.n, dtype=bool))


def test_optimise_when_risk_model_has_no_factors_uses_specific_risk_only() -> None:
    inst = make_instance(13)
    diagonal = HandRiskModel(inst.risk.symbols, np.zeros((inst.n, 0)), np.zeros((0, 0)), inst.risk.specific_var,
                             inst.risk.sectors, inst.risk.betas)  # fmt: skip
    res = optimise(inst.alpha, diagonal, np.zeros(inst.n), limits(beta_band=None), OptimiserConfig(), **inst.market)
    assert res.status == "optimal", res.message
    assert res.objective.risk == pytest.approx(inst.risk.specific_var @ res.weights**2)


@pytest.mark.parametrize("schedule", list(CommissionSchedule))
@pytest.mark.parametrize("dw", [0.01, -0.01, 0.03, -0.04])
def test_trade_costs_when_minimum_and_caps_do_not_bind_equal_the_simulators_expected_cost(
    schedule: CommissionSchedule, dw: float
) -> None:
    model = CostModel(CostConfig(schedule=schedule))
    price, adv, sigma, equity = np.array([50.0]), np.array([400_000.0]), np.array([0.02]), 2e6
    costs = TradeCosts.from_model(model, prices=price, adv=adv, sigma_daily=sigma, equity=equity,
                                  month_volume_before=500_000)  # fmt: skip
    shares = np.array([dw]) * equity / price
    expected = model.expected_cost(shares, price, adv, sigma, month_volume_before=500_000)
    assert costs.cost(np.array([dw])) * equity == pytest.approx(expected, rel=1e-12)


def test_trade_costs_when_order_tiny_leave_out_only_the_minimum_commission() -> None:
    model = CostModel(CostConfig())
    price, adv, sigma, equity = np.array([50.0]), np.array([400_000.0]), np.array([0.02]), 2e6
    costs = TradeCosts.from_model(model, prices=price, adv=adv, sigma_daily=sigma, equity=equity)
    dw = np.array([1e-5])  # 20 USD, 0.4 shares: the 0.35 minimum binds, then the 1 % cap (0.20)
    exact = model.expected_cost(dw * equity / price, price, adv, sigma)
    assert exact - costs.cost(dw) * equity == pytest.approx(0.20 - 0.4 * 0.0035, rel=1e-9)


def test_optimise_when_solved_reports_the_cost_the_simulator_would_expect() -> None:
    inst = make_instance(11)
    res = run(inst, limits())
    m = inst.market
    shares = res.weights * m["equity"] / m["prices"]
    traded = np.abs(shares) > 1e-6 * m["equity"] / m["prices"]  # ignore solver dust (minimum commissions)
    exact = CostModel(CostConfig()).expected_cost(shares[traded], m["prices"][traded], m["adv"][traded],
                                                  m["sigma_daily"][traded])  # fmt: skip
    assert res.objective.cost * m["equity"] == pytest.approx(exact.sum(), rel=0.05)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"alpha": np.zeros(3)}, "alpha must have shape"),
        ({"alpha": np.full(60, np.nan)}, "alpha must be finite"),
        ({"prices": np.zeros(60)}, "prices"),
        ({"equity": 0.0}, "equity"),
    ],
)
def test_optimise_when_inputs_bad_raises(change: dict[str, Any], says: str) -> None:
    inst = make_instance(0)
    args: dict[str, Any] = {"alpha": inst.alpha, **inst.market} | change
    alpha = args.pop("alpha")
    with pytest.raises(ValueError, match=says):
        optimise(alpha, inst.risk, np.zeros(60), limits(), OptimiserConfig(), **args)


def test_optimise_when_price_unknown_outside_universe_and_not_held_ignores_it() -> None:
    inst = make_instance(12)
    universe = np.ones(inst.n, dtype=bool)
    universe[0] = False
    prices = inst.market["prices"].copy()
    prices[0] = np.nan
    res = optimise(inst.alpha, inst.risk, np.zeros(inst.n), limits(), OptimiserConfig(), universe=universe,
                   **(inst.market | {"prices": prices}))  # fmt: skip
    assert res.status == "optimal"
    assert res.weights[0] == 0


def test_config_when_regime_multiplier_above_one_raises() -> None:
    from prometheus.core.errors import ConfigError

    with pytest.raises(ConfigError, match="'regime_scale': multipliers must be in"):
        OptimiserConfig.from_mapping({"regime_scale": {"calm": 1.5}})
