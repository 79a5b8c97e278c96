"""Stability maths against dense, hand-checkable references."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf

from prometheus.engines.covariance import absorption_ratio, shrunk_spectrum
from prometheus.engines.stability.measures import (
    average_correlation,
    delta_absorption,
    mahalanobis,
    trailing_percentile,
)


def _dense_shrunk(x: np.ndarray) -> np.ndarray:
    cov, _ = ledoit_wolf(x, assume_centered=False)
    return cov


@pytest.mark.parametrize(("rows", "names"), [(120, 30), (40, 90)])
def test_shrinkage_when_compared_with_sklearn_ledoit_wolf_matches(rows: int, names: int) -> None:
    x = np.random.default_rng(1).standard_normal((rows, names)) @ np.diag(np.linspace(0.5, 2.0, names))
    spec = shrunk_spectrum(x)
    _, expected = ledoit_wolf(x)
    assert spec.shrinkage == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("rows", "names"), [(120, 30), (40, 90)])
def test_absorption_ratio_when_gram_or_scatter_equals_dense_eigen_share(rows: int, names: int) -> None:
    x = np.random.default_rng(2).standard_normal((rows, names)) + np.random.default_rng(3).standard_normal((rows, 1))
    eig = np.sort(np.linalg.eigvalsh(_dense_shrunk(x)))[::-1]
    k = round(0.2 * names)
    assert absorption_ratio(shrunk_spectrum(x), 0.2) == pytest.approx(eig[:k].sum() / eig.sum(), rel=1e-9)


@pytest.mark.parametrize(("rows", "names"), [(120, 30), (40, 90)])
def test_mahalanobis_when_woodbury_or_direct_equals_dense_solve(rows: int, names: int) -> None:
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((rows, names)), rng.standard_normal(names)
    mean = x.mean(axis=0)
    expected = (y - mean) @ np.linalg.solve(_dense_shrunk(x), y - mean) / names
    assert mahalanobis(shrunk_spectrum(x, eigen=False), y, mean) == pytest.approx(expected, rel=1e-8)


def test_average_correlation_when_compared_with_corrcoef_matches() -> None:
    x = np.random.default_rng(5).standard_normal((50, 8)) + np.random.default_rng(6).standard_normal((50, 1))
    c = np.corrcoef(x.T)
    assert average_correlation(x) == pytest.approx((c.sum() - 8) / 56, rel=1e-12)


def test_absorption_ratio_when_one_factor_dominates_is_near_one_and_near_fraction_without() -> None:
    rng = np.random.default_rng(7)
    noise = rng.standard_normal((250, 50))
    factor = noise * 0.1 + rng.standard_normal((250, 1))
    assert absorption_ratio(shrunk_spectrum(factor, standardise=True), 0.2) > 0.95
    assert absorption_ratio(shrunk_spectrum(noise, standardise=True), 0.2) < 0.35


def test_delta_absorption_when_last_values_jump_is_large_and_nan_on_short_history() -> None:
    history = np.r_[np.full(240, 0.5) + np.random.default_rng(8).normal(0, 0.01, 240), np.full(15, 0.6)]
    assert delta_absorption(history, 15, 252) > 1.0
    assert np.isnan(delta_absorption(history[:20], 15, 252))


def test_trailing_percentile_when_last_is_maximum_is_one() -> None:
    assert trailing_percentile(np.arange(100.0), 20) == 1.0
    assert np.isnan(trailing_percentile(np.arange(10.0), 20))
