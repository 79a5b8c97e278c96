"""The engines' vectorised lookups give what the per-name loops they replaced gave."""

from __future__ import annotations

import numpy as np

from prometheus.engines.portfolio.engine import _Finder
from prometheus.engines.scenarios.lake import path_growth
from prometheus.engines.scenarios.risk import horizon_growth, portfolio_pnl


def test_finder_places_names_among_unsorted_symbols() -> None:
    finder = _Finder(np.array(["B", "A", "C"]))
    at = finder.find(np.array(["C", "X", "A", "AA"]))
    np.testing.assert_array_equal(at, [2, -1, 1, -1])
    np.testing.assert_array_equal(finder.values(at, np.array([0.5, 9.0, -0.25, 1.0])), [0.0, -0.25, 0.5])
    assert finder.find(np.array([], dtype=str)).size == 0
    assert _Finder(np.array([], dtype=str)).find(np.array(["A"])).tolist() == [-1]


def test_growth_computed_once_values_portfolios_bit_for_bit() -> None:
    # The scenarios engine values both portfolios on one growth array: the same bits as portfolio_pnl.
    rng = np.random.default_rng(7)
    paths = (rng.standard_normal((64, 20, 37)) * 0.02).astype(np.float32)
    weights = rng.standard_normal(37)
    expected = portfolio_pnl(paths, weights)
    np.testing.assert_array_equal(horizon_growth(paths, 37) @ weights, expected)
    np.testing.assert_array_equal(np.ascontiguousarray(path_growth(paths, 37)[:, -1]) @ weights, expected)
