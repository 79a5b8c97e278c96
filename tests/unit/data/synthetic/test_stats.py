"""Stylised facts of the synthetic market on small markets (100 names x 5 years) for several seeds.

Measured on total returns: the index is the equal-weighted mean of the names listed each session; the Hill index
uses pooled returns standardised per name (top 1 %); ACF(|r|) is the average over names.
"""

from __future__ import annotations

from functools import cache

import pytest

from prometheus.data.synthetic import SyntheticConfig, generate_market
from prometheus.data.synthetic.stats import stylised_facts

SEEDS = (1, 2, 3)


@cache
def _facts(seed: int) -> dict[str, float]:
    market = generate_market(SyntheticConfig(n_names=100, years=5, seed=seed))
    return stylised_facts(market.panel.returns.total, market.panel.regimes)


@pytest.mark.parametrize("seed", SEEDS)
def test_pooled_returns_when_measured_have_hill_tail_index_between_3_and_5(seed: int) -> None:
    assert 3.0 <= _facts(seed)["hill_pooled_1pct"] <= 5.0


@pytest.mark.parametrize("seed", SEEDS)
def test_index_returns_when_lagged_one_session_are_nearly_uncorrelated(seed: int) -> None:
    assert abs(_facts(seed)["index_acf_r_1"]) < 0.1


@pytest.mark.parametrize("seed", SEEDS)
def test_absolute_returns_when_lagged_stay_positively_correlated_and_decay_slowly(seed: int) -> None:
    f = _facts(seed)
    lag1, lag20, lag60 = f["stock_acf_abs_1"], f["stock_acf_abs_20"], f["stock_acf_abs_60"]
    assert lag1 > lag20 > lag60 > 0.0
    assert lag20 > 0.25 * lag1  # slow (hyperbolic-like) decay, not the 0.95^20 ~ 0.36 of a short memory alone


@pytest.mark.parametrize("seed", SEEDS)
def test_index_falls_when_followed_by_higher_volatility_show_negative_leverage(seed: int) -> None:
    assert _facts(seed)["index_leverage_future_vol_20"] < 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_average_pairwise_correlation_when_in_crisis_is_at_least_twice_calm(seed: int) -> None:
    f = _facts(seed)
    assert f["avg_corr_crisis"] >= 2.0 * f["avg_corr_calm"]
    assert f["avg_corr_calm"] < f["avg_corr_normal"] < f["avg_corr_crisis"]
