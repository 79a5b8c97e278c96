"""Planted alpha: realised ICs match the designed ICs; noise features carry none; news tone carries some."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from prometheus.data.synthetic import SyntheticConfig, SyntheticMarket, generate_market, mean_ic
from prometheus.data.synthetic.alpha import loadings
from prometheus.data.synthetic.stats import cross_sectional_ic

SEEDS = (1, 2, 3)


@cache
def _market(seed: int) -> SyntheticMarket:
    return generate_market(SyntheticConfig(n_names=100, years=5, seed=seed))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("signal", ["alpha", "alpha_feature", "reversal", "calm_in_calm"])
def test_realised_ic_when_measured_over_five_years_is_within_001_of_designed(seed: int, signal: str) -> None:
    manifest = _market(seed).truth.manifest
    assert abs(manifest["realised_ic"][signal] - manifest["designed_ic"][signal]) <= 0.01


def test_loadings_when_single_signal_equal_ic_over_sqrt_one_minus_ic_squared() -> None:
    cfg = SyntheticConfig(alpha_ic=0.05, reversal_ic=0.0, calm_ic=0.0)
    k_alpha, k_rev, k_calm, _ = loadings(cfg)
    assert k_alpha == pytest.approx(0.05 / np.sqrt(1 - 0.05**2))
    assert k_rev == 0.0
    assert k_calm == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_noise_features_when_measured_have_no_ic(seed: int) -> None:
    panel = _market(seed).panel
    target = np.where(np.isfinite(panel.returns.total), panel.returns.idio_std, np.nan)
    for noise in panel.returns.signals.noise:
        assert abs(mean_ic(noise, target)) < 0.01


def test_calm_signal_when_next_session_not_calm_has_no_ic() -> None:
    panel = _market(1).panel
    target = np.where(np.isfinite(panel.returns.total), panel.returns.idio_std, np.nan)
    not_calm = np.flatnonzero(panel.regimes[1:] != 0)
    assert abs(mean_ic(panel.returns.signals.calm, target, rows=not_calm)) < 0.015


def test_news_tone_when_positive_has_higher_latent_signal_than_negative() -> None:
    market = _market(2)
    panel = market.panel
    ordinary = panel.news.event < 0
    z = panel.returns.signals.latent[panel.news.t, panel.news.name]
    assert z[ordinary & (panel.news.tone == 0)].mean() > 0.2
    assert z[ordinary & (panel.news.tone == 1)].mean() < -0.2
    assert market.news["headline"].n_unique() > 1000  # varied wording, not a handful of strings


def test_crowded_names_when_building_up_gain_residual_correlation() -> None:
    panel = _market(3).panel
    crowd = panel.crowding
    resid = panel.returns.total - panel.returns.systematic
    members = resid[:, crowd.members]

    def avg_corr(rows: slice) -> float:
        c = np.corrcoef(members[rows], rowvar=False)
        return float((c.sum() - len(c)) / (len(c) * (len(c) - 1)))

    before = avg_corr(slice(crowd.start - 120, crowd.start))
    late_build = avg_corr(slice(crowd.unwind_start - 40, crowd.unwind_start))
    assert abs(before) < 0.05
    assert late_build > 0.15
    assert panel.returns.total[crowd.unwind_start : crowd.end + 1, crowd.members].mean() < -0.01


def test_signal_ic_when_measured_per_session_has_cross_sectional_noise_of_about_one_over_sqrt_n() -> None:
    panel = _market(1).panel
    target = np.where(np.isfinite(panel.returns.total), panel.returns.idio_std, np.nan)
    ics = cross_sectional_ic(panel.returns.signals.latent[:-1], target[1:])
    assert 0.07 < np.nanstd(ics) < 0.14  # ~1/sqrt(100 names): each session is a fresh cross-sectional draw


def test_published_calm_signal_when_enabled_is_a_noisy_copy_and_leaves_other_draws_unchanged() -> None:
    """The Kronos validation market: ``calm_feature`` tracks the calm-only signal (corr ~ 0.9) and predicts
    returns in calm sessions only; every other draw of the market is what it is without the option."""
    plain = _market(1).panel
    config = SyntheticConfig(n_names=100, years=5, seed=1, publish_calm_signal=True)
    published = generate_market(config).panel
    sig = published.returns.signals
    assert sig.calm_feature is not None
    assert plain.returns.signals.calm_feature is None
    corr = np.corrcoef(sig.calm_feature.ravel(), sig.calm.ravel())[0, 1]
    assert abs(corr - config.alpha_feature_corr) < 0.01
    np.testing.assert_array_equal(published.returns.total, plain.returns.total)
    target = np.where(np.isfinite(published.returns.total), published.returns.idio_std, np.nan)
    calm = np.flatnonzero(published.regimes[1:] == 0)
    not_calm = np.flatnonzero(published.regimes[1:] != 0)
    assert mean_ic(sig.calm_feature, target, rows=calm) > 0.02
    assert abs(mean_ic(sig.calm_feature, target, rows=not_calm)) < 0.015
