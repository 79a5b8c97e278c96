"""Market oracles: the true-parameter regime filter is causal and finds crises; the true correlation spikes."""

from __future__ import annotations

import numpy as np
import pytest

from prometheus.data.synthetic import SyntheticConfig, generate_market
from prometheus.data.synthetic.market_oracle import (
    oracle_crisis,
    regime_filter,
    true_average_correlation,
    true_market_vol,
)


@pytest.fixture(scope="module")
def market():
    """A small market with every regime present."""
    return generate_market(SyntheticConfig(seed=5, n_names=40, years=4))


def test_regime_filter_when_later_returns_change_rows_up_to_t_are_unchanged(market) -> None:
    r = market.panel.returns.market.ret.copy()
    before = regime_filter(r, market.config)
    r[500:] = np.random.default_rng(0).normal(0.0, 0.05, len(r) - 500)
    after = regime_filter(r, market.config)
    assert np.array_equal(before[:500], after[:500])
    assert not np.allclose(before[500:], after[500:])


def test_regime_filter_when_returns_missing_carries_the_prediction_and_sums_to_one(market) -> None:
    r = market.panel.returns.market.ret.copy()
    r[100:110] = np.nan
    probs = regime_filter(r, market.config)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert np.isfinite(probs).all()


def test_oracle_crisis_when_regimes_known_flags_crisis_far_more_often_in_crisis(market) -> None:
    flags, regimes = oracle_crisis(market), market.panel.regimes
    assert flags[regimes == 2].mean() > 0.5 > 0.1 > flags[regimes == 0].mean()


def test_true_market_vol_and_correlation_when_regime_rises_rise_with_it(market) -> None:
    vol, corr, regimes = true_market_vol(market), true_average_correlation(market), market.panel.regimes
    for series in (vol, corr):
        means = [float(np.nanmean(series[regimes == k])) for k in range(3)]
        assert means == sorted(means)
    assert 0.0 < np.nanmin(corr)
    assert np.nanmax(corr) < 1.0
    # Crisis correlation is 2-3x calm (METHODS "Synthetic market"; loadings x 1.25 in crisis).
    assert 1.8 < np.nanmean(corr[regimes == 2]) / np.nanmean(corr[regimes == 0]) < 3.5
