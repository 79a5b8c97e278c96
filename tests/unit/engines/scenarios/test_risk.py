"""Scenario risk: P&L, VaR/ES, stress scaling, Kupiec and Christoffersen against hand-computed values, and a
walk-forward VaR backtest of the filtered historical simulation on the synthetic market."""

from __future__ import annotations

import math

import numpy as np
import pytest

from prometheus.data.synthetic import SyntheticConfig, generate_market
from prometheus.engines.scenarios.config import ScenarioConfig
from prometheus.engines.scenarios.generators import filtered_historical, scenario_rng
from prometheus.engines.scenarios.risk import (
    christoffersen,
    kupiec_pof,
    portfolio_pnl,
    portfolio_vol,
    stress_scale,
    var_es,
)


def test_portfolio_pnl_when_two_sessions_compounds_each_name_then_weights() -> None:
    paths = np.array([[[0.10, -0.05], [0.10, -0.05]], [[0.0, 0.0], [-0.5, 0.2]]])  # (2 paths, 2 sessions, 2 names)
    pnl = portfolio_pnl(paths, np.array([0.5, -0.5]))
    assert pnl == pytest.approx([0.5 * 0.21 - 0.5 * (0.95**2 - 1.0), 0.5 * -0.5 - 0.5 * 0.2])


def test_portfolio_pnl_when_weights_do_not_match_raises() -> None:
    with pytest.raises(ValueError, match="weights"):
        portfolio_pnl(np.zeros((3, 2, 4)), np.ones(3))


def test_var_es_when_losses_are_a_ladder_equal_hand_values() -> None:
    pnl = -np.arange(100) / 100.0  # losses 0.00 .. 0.99
    out = var_es(pnl, (0.95, 0.99))
    assert out[0.95].var == pytest.approx(0.95)
    assert out[0.95].es == pytest.approx(np.mean([0.95, 0.96, 0.97, 0.98, 0.99]))
    assert (out[0.99].var, out[0.99].es) == pytest.approx((0.99, 0.99))


@pytest.mark.parametrize("seed", range(20))
def test_var_es_when_any_sample_es_is_at_least_var(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pnl = rng.standard_t(3, size=int(rng.integers(5, 3000))) * rng.uniform(0.001, 0.1)
    for level, v in var_es(pnl, (0.9, 0.95, 0.975, 0.99)).items():
        assert v.es >= v.var, level
    assert var_es(pnl, (0.99,))[0.99].var >= var_es(pnl, (0.95,))[0.95].var


def test_stress_scale_when_loss_beyond_limit_scales_it_to_the_limit() -> None:
    assert stress_scale(0.30, 0.15) == pytest.approx(0.5)
    assert stress_scale(0.10, 0.15) == 1.0
    assert stress_scale(0.30, None) == 1.0


def test_portfolio_vol_when_two_names_matches_hand_formula() -> None:
    cov = np.array([[0.04, 0.6 * 0.2 * 0.1], [0.6 * 0.2 * 0.1, 0.01]])
    expected = math.sqrt(0.25 * 0.04 + 0.25 * 0.01 + 2 * 0.25 * 0.012)
    assert portfolio_vol(np.array([0.5, 0.5]), cov) == pytest.approx(expected)


def test_kupiec_when_ten_exceptions_in_a_hundred_at_95_equals_hand_value() -> None:
    # -2 [90 ln .95 + 10 ln .05 - (90 ln .9 + 10 ln .1)] = 4.130844; chi2(1) tail 0.042108
    out = kupiec_pof(10, 100, 0.95)
    assert out.statistic == pytest.approx(4.130844, abs=1e-6)
    assert out.p_value == pytest.approx(0.042108, abs=1e-6)
    assert out.dof == 1


def test_kupiec_when_exceptions_at_the_expected_rate_passes_and_none_is_finite() -> None:
    assert kupiec_pof(50, 1000, 0.95).p_value == pytest.approx(1.0)
    zero = kupiec_pof(0, 250, 0.99)  # -2 * 250 ln .99 = 5.025168
    assert zero.statistic == pytest.approx(-2 * 250 * math.log(0.99))
    assert kupiec_pof(0, 100, 0.99).p_value > 0.05
    assert kupiec_pof(30, 250, 0.99).p_value < 1e-6


def test_christoffersen_when_five_consecutive_exceptions_equals_hand_value_and_fails() -> None:
    hits = np.zeros(100, dtype=bool)
    hits[50:55] = True
    out = christoffersen(hits, 0.95)
    assert out.transitions == (93, 1, 1, 4)
    # Markov: pi01 = 1/94, pi11 = 4/5; iid: pi = 5/99.
    markov = 93 * math.log(93 / 94) + math.log(1 / 94) + math.log(1 / 5) + 4 * math.log(4 / 5)
    iid = 94 * math.log(94 / 99) + 5 * math.log(5 / 99)
    assert out.independence.statistic == pytest.approx(-2 * (iid - markov))
    assert out.independence.statistic == pytest.approx(23.519995, abs=1e-6)
    assert out.coverage.p_value == pytest.approx(1.0)  # 5 in 100 is the 95 % rate: only clustering fails
    assert out.independence.p_value < 1e-5
    assert out.conditional_coverage.statistic == pytest.approx(out.coverage.statistic + out.independence.statistic)
    assert out.conditional_coverage.dof == 2
    assert out.conditional_coverage.p_value < 1e-4


def test_christoffersen_when_exceptions_at_rate_and_scattered_passes() -> None:
    hits = np.zeros(1000, dtype=bool)
    hits[np.random.default_rng(0).choice(1000, 50, replace=False)] = True
    out = christoffersen(hits, 0.95)
    assert out.transitions == (900, 49, 49, 1)
    assert out.coverage.p_value == pytest.approx(1.0)
    assert out.independence.p_value > 0.05
    assert out.conditional_coverage.p_value > 0.05


def test_christoffersen_when_no_exception_is_finite_and_independent() -> None:
    out = christoffersen(np.zeros(250, dtype=bool), 0.99)
    assert out.independence.statistic == 0.0
    assert out.conditional_coverage.statistic == pytest.approx(kupiec_pof(0, 250, 0.99).statistic)


@pytest.mark.slow
def test_fhs_var_when_walked_forward_on_the_synthetic_market_passes_kupiec_and_christoffersen() -> None:
    # Seed 11 was fixed before the first run and not changed. The last two years (504 sessions), every second
    # session: the 1-day 95 % and 99 % VaR of the equal-weighted portfolio from an FHS of the trailing 756 sessions
    # only (the GARCH refitted each time), against the next session's realised return.
    market = generate_market(SyntheticConfig(n_names=30, years=5, seed=11))
    total, sectors = market.panel.returns.total, market.panel.universe.sector.astype(str)
    cfg = ScenarioConfig(paths=2000, horizon_sessions=1, seed=11)
    rng = scenario_rng(cfg.seed, "var_backtest")
    levels = (0.95, 0.99)
    hits: dict[float, list[bool]] = {level: [] for level in levels}
    for d in range(len(total) - 504, len(total), 2):
        # Names priced at the decision (d - 1) and on the session scored (a delisting day still counts).
        live = np.isfinite(total[d - 1]) & np.isfinite(total[d])
        weights = live / live.sum()
        scenarios = filtered_historical(total[:d], cfg, rng, sectors=sectors)
        risk = var_es(portfolio_pnl(scenarios.paths, weights), levels)
        realised = float(np.nansum(total[d] * weights))
        for level in levels:
            hits[level].append(-realised > risk[level].var)
    for level in levels:
        series = np.array(hits[level])
        out = christoffersen(series, level)
        # Figures on seed 11 (p: Kupiec / independence / conditional coverage): 95 %: 9 of 252 exceptions
        # (12.6 expected; p 0.27 / 0.41 / 0.39); 99 %: 2 of 252 (2.5 expected; p 0.73 / 0.86 / 0.93).
        assert out.coverage.p_value > 0.05, (level, series.sum(), out)
        assert out.independence.p_value > 0.05, (level, out)
        assert out.conditional_coverage.p_value > 0.05, (level, out)
