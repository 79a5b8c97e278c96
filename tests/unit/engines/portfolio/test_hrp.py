"""HRP and inverse volatility: inverse variance on a diagonal covariance, block symmetry, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from prometheus.engines.portfolio.hrp import hrp_weights, inverse_vol_weights, quasi_diagonal_order


def _blocks(sizes: list[int], variances: list[float], rho: float) -> np.ndarray:
    """Block covariance: correlation ``rho`` inside a block, 0 across, the block's variance on the diagonal."""
    n = sum(sizes)
    cov = np.zeros((n, n))
    start = 0
    for size, var in zip(sizes, variances, strict=True):
        block = np.full((size, size), rho * var)
        np.fill_diagonal(block, var)
        cov[start : start + size, start : start + size] = block
        start += size
    return cov


def test_hrp_when_covariance_diagonal_equals_inverse_variance() -> None:
    # Bisection with inverse-variance cluster weights reproduces inverse variance when nothing is correlated.
    var = np.random.default_rng(3).uniform(0.5, 4.0, 9)
    expected = (1 / var) / (1 / var).sum()
    assert hrp_weights(np.diag(var)) == pytest.approx(expected, rel=1e-12)


def test_hrp_when_two_equal_blocks_splits_evenly_and_equally_inside() -> None:
    # Sizes of powers of two, so the bisection (by count, as in the original) cuts along the blocks.
    w = hrp_weights(_blocks([4, 4], [1.0, 1.0], 0.9))
    assert w == pytest.approx(np.full(8, 1 / 8))


def test_hrp_when_one_block_riskier_gives_it_less_weight() -> None:
    w = hrp_weights(_blocks([3, 3], [1.0, 4.0], 0.8))
    assert w[:3].sum() > w[3:].sum()
    assert w.sum() == pytest.approx(1.0)
    assert np.all(w > 0)


def test_order_when_blocks_interleaved_puts_each_block_together() -> None:
    cov = _blocks([3, 3], [1.0, 1.0], 0.9)
    perm = np.array([0, 3, 1, 4, 2, 5])
    order = quasi_diagonal_order(cov[np.ix_(perm, perm)])
    blocks = perm[order] // 3
    assert list(blocks) in ([0, 0, 0, 1, 1, 1], [1, 1, 1, 0, 0, 0])


def test_hrp_when_large_returns_positive_weights_summing_to_one() -> None:
    rng = np.random.default_rng(0)
    b = rng.normal(size=(400, 5))
    cov = b @ b.T * 1e-4 + np.diag(rng.uniform(1e-4, 1e-3, 400))
    w = hrp_weights(cov)
    assert w.sum() == pytest.approx(1.0)
    assert np.all(w > 0)


def test_hrp_when_one_or_no_name_is_trivial() -> None:
    assert hrp_weights(np.array([[2.0]])) == pytest.approx([1.0])
    assert hrp_weights(np.zeros((0, 0))).shape == (0,)


@pytest.mark.parametrize(
    "cov",
    [np.ones((2, 3)), np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[1.0, np.nan], [np.nan, 1.0]])],
    ids=["not square", "zero variance", "nan"],
)
def test_hrp_when_covariance_bad_raises(cov: np.ndarray) -> None:
    with pytest.raises(ValueError, match="covariance"):
        hrp_weights(cov)


def test_inverse_vol_when_vols_given_is_proportional_to_their_inverse() -> None:
    assert inverse_vol_weights(np.array([0.1, 0.2, 0.4])) == pytest.approx(np.array([4, 2, 1]) / 7)


@pytest.mark.parametrize("vol", [[0.1, 0.0], [0.1, np.nan], [0.1, -0.2]])
def test_inverse_vol_when_a_vol_not_positive_raises(vol: list[float]) -> None:
    with pytest.raises(ValueError, match="volatilities"):
        inverse_vol_weights(np.array(vol))
