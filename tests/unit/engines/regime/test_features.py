"""Regime features: hand-checkable EWM rows, causality, and a scaler fitted on the training rows only."""

from __future__ import annotations

import numpy as np

from prometheus.engines.regime.features import (
    FeatureScaler,
    cross_section_features,
    cross_section_names,
    daily_cross_section,
    ewm_features,
    feature_names,
)


def test_ewm_features_when_constant_return_mean_is_that_return_and_downside_floor() -> None:
    f = ewm_features(np.full(30, 0.01), (5,), window=10, min_returns=5)
    assert np.isnan(f[:4]).all()
    assert np.allclose(f[4:, 0], 0.01)
    assert np.allclose(f[4:, 1], np.log(1e-6))  # no losses: the downside deviation is floored


def test_ewm_features_when_two_returns_weights_follow_half_life() -> None:
    f = ewm_features(np.array([-0.02, 0.04]), (1,), window=2, min_returns=1)
    # weights 0.5 (older), 1 (newer): mean = (0.5 * -0.02 + 0.04) / 1.5
    assert np.isclose(f[1, 0], 0.03 / 1.5)
    assert np.isclose(f[1, 1], np.log(np.sqrt(0.5 * 0.0004 / 1.5)))
    assert np.isclose(f[1, 2], f[1, 0] / np.exp(f[1, 1]))


def test_ewm_features_when_data_appended_earlier_rows_are_bit_identical() -> None:
    r = np.random.default_rng(3).normal(0, 0.01, 400)
    short = ewm_features(r[:250], (5, 20, 60), window=120, min_returns=20)
    long = ewm_features(r, (5, 20, 60), window=120, min_returns=20)
    assert np.array_equal(short, long[:250], equal_nan=True)


def test_ewm_features_when_history_starts_earlier_rows_beyond_window_unchanged() -> None:
    r = np.random.default_rng(4).normal(0, 0.01, 300)
    full = ewm_features(r, (5,), window=50, min_returns=20)
    cut = ewm_features(r[100:], (5,), window=50, min_returns=20)
    assert np.array_equal(full[200:], cut[100:])


def test_feature_names_when_three_half_lives_lists_nine_columns() -> None:
    names = feature_names((5, 20, 60))
    assert len(names) == 9
    assert names[:3] == ("ewm_return_5", "log_downside_dev_5", "sortino_5")


def test_scaler_when_fitted_on_training_rows_ignores_later_rows() -> None:
    train = np.random.default_rng(5).normal(2.0, 3.0, (500, 2))
    scaler = FeatureScaler.fit(train, clip_sigmas=3.0)
    out = scaler.transform(np.vstack([train, [[1e6, -1e6]]]))
    assert np.allclose(out[:500].mean(axis=0), 0.0, atol=1e-9)
    assert np.allclose(out[:500].std(axis=0), 1.0, atol=1e-9)
    assert np.allclose(out[-1], (scaler.upper * [1, 0] + scaler.lower * [0, 1] - scaler.mean) / scaler.scale)


def test_daily_cross_section_when_few_names_row_is_nan_else_mean_square_variance() -> None:
    panel = np.array([[0.01, 0.03, np.nan], [0.02, np.nan, np.nan]])
    d = daily_cross_section(panel, min_names=2)
    assert np.allclose(d[0], [0.02, 0.0005, 0.0001])
    assert np.isnan(d[1]).all()


def test_cross_section_features_when_names_move_together_correlation_proxy_is_one() -> None:
    common = np.random.default_rng(5).normal(0, 0.01, (200, 1))
    f = cross_section_features(daily_cross_section(np.repeat(common, 30, axis=1), 10), (5, 20), 100, 20)
    assert np.allclose(f[20:, [0, 2]], 1.0)
    assert cross_section_names((5, 20)) == ("xs_corr_5", "xs_log_dispersion_5", "xs_corr_20", "xs_log_dispersion_20")


def test_cross_section_features_when_data_appended_earlier_rows_are_bit_identical() -> None:
    panel = np.random.default_rng(6).normal(0, 0.01, (300, 40))
    short = cross_section_features(daily_cross_section(panel[:200], 10), (5, 20), 120, 20)
    long = cross_section_features(daily_cross_section(panel, 10), (5, 20), 120, 20)
    assert np.array_equal(short, long[:200], equal_nan=True)
