"""Fragility maths on hand-built panels: residuals, profile clusters, crowding statistics."""

from __future__ import annotations

import numpy as np

from prometheus.engines.fragility import (
    FragilityConfig,
    amihud_trend,
    clusters_of,
    correlation,
    excess,
    instrument_scores,
    remove_style_factors,
    residual_returns,
)

CFG = FragilityConfig()


def _panel(seed: int, crowd: int, rho: float, names: int = 80, recent: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Market, 4 sectors and a block of ``crowd`` names on a common flow: only over the last ``corr_window``
    sessions (a crowd forming) when ``recent``, else over the whole window (a persistent style)."""
    rng = np.random.default_rng(seed)
    t = CFG.data_window
    market = rng.normal(0, 0.01, (t, 1))
    sectors = np.array([f"S{i % 4}" for i in range(names)])
    sector_ret = rng.normal(0, 0.006, (t, 4))[:, [i % 4 for i in range(names)]]
    flow = rng.normal(0, 0.01 * np.sqrt(rho / (1 - rho)), (t, 1))
    if recent:
        flow[: -CFG.corr_window] = 0.0
    idio = rng.normal(0, 0.01, (t, names))
    loading = np.zeros(names)
    loading[:crowd] = 1.0
    returns = market * rng.uniform(0.7, 1.3, names) + sector_ret + idio + flow * loading
    return returns, sectors


def test_residuals_when_market_and_sector_removed_are_uncorrelated_with_them() -> None:
    returns, sectors = _panel(1, 0, 0.1)
    full = FragilityConfig(corr_window=CFG.beta_window, style_factors=0)
    res = residual_returns(returns, sectors, full)
    fit = returns[-CFG.beta_window :]
    assert res.shape == (CFG.beta_window, returns.shape[1])
    # OLS residuals are orthogonal to every regressor over the fit window.
    assert np.abs(fit.mean(axis=1) @ res).max() < 1e-12
    own_sector = fit[:, sectors == "S0"].mean(axis=1)
    assert np.abs(own_sector @ res[:, sectors == "S0"]).max() < 1e-12


def test_clusters_when_block_planted_recover_it_and_flag_only_it() -> None:
    returns, sectors = _panel(2, 20, 0.5)
    res = residual_returns(returns, sectors, CFG)
    found = clusters_of(correlation(res), res, np.zeros(returns.shape[1]), CFG)
    flagged = [c for c in found if c.flagged]
    assert len(flagged) == 1
    members = set(flagged[0].members.tolist())
    assert len(members & set(range(20))) >= 18
    assert len(members - set(range(20))) <= 2
    scores = instrument_scores(found, returns.shape[1], CFG)
    # Member scores: the cluster's excess, lowered for members less correlated than average (no illiquidity here).
    assert np.all(scores[flagged[0].members] <= excess(flagged[0]) + 1e-12)
    assert np.isclose(scores[flagged[0].members].max(), excess(flagged[0]))
    assert set(np.argsort(-scores)[:18].tolist()) <= set(range(20))  # the planted names rank first
    assert excess(flagged[0]) > CFG.flag_excess


def test_clusters_when_block_is_persistent_style_flag_nothing() -> None:
    returns, sectors = _panel(2, 20, 0.5, recent=False)
    res = residual_returns(returns, sectors, CFG)
    assert not any(c.flagged for c in clusters_of(correlation(res), res, np.zeros(returns.shape[1]), CFG))
    plain = FragilityConfig(style_factors=0)  # without the style step the same block is flagged
    res = residual_returns(returns, sectors, plain)
    assert any(c.flagged for c in clusters_of(correlation(res), res, np.zeros(returns.shape[1]), plain))


def test_style_removal_when_recent_rows_carry_old_loadings_leaves_them_orthogonal() -> None:
    rng = np.random.default_rng(5)
    loadings = rng.normal(size=(30, 2))
    residuals = rng.normal(size=(120, 2)) @ loadings.T + 0.1 * rng.normal(size=(120, 30))
    out = remove_style_factors(residuals, 2, 40)
    assert out.shape == (40, 30)
    assert np.linalg.norm(out) < 0.2 * np.linalg.norm(residuals[-40:])
    assert np.array_equal(remove_style_factors(residuals, 0, 40), residuals[-40:])


def test_clusters_when_no_crowd_flag_nothing() -> None:
    returns, sectors = _panel(3, 0, 0.1)
    res = residual_returns(returns, sectors, CFG)
    assert not any(c.flagged for c in clusters_of(correlation(res), res, np.zeros(returns.shape[1]), CFG))


def test_amihud_trend_when_volume_halves_recently_is_log_two() -> None:
    rng = np.random.default_rng(4)
    r = np.abs(rng.normal(0, 0.01, (CFG.amihud_long, 3))) + 0.01
    r[:] = 0.01
    dv = np.full_like(r, 1e6)
    dv[-CFG.amihud_short :] = 5e5
    long = np.mean(0.01 / dv, axis=0)
    expected = np.log((0.01 / 5e5) / long)
    assert np.allclose(amihud_trend(r, dv, CFG), expected)


def test_leading_loadings_when_names_outnumber_rows_span_the_svd_components() -> None:
    from prometheus.engines.fragility.clusters import leading_loadings

    rng = np.random.default_rng(11)
    for rows, names in ((189, 500), (189, 50), (5, 40)):
        z = rng.normal(size=(rows, names))
        z[:, : names // 5] += 2.0 * rng.normal(size=(rows, 1))  # one strong factor, as a style would be
        svd = np.linalg.svd(z, full_matrices=False)[2][:3].T
        fast = leading_loadings(z, 3)
        assert fast.shape == svd.shape
        assert np.allclose(fast @ fast.T, svd @ svd.T, rtol=0.0, atol=1e-10)  # the same span (signs may differ)
    rank_one = np.outer(rng.normal(size=30), rng.normal(size=200))  # zero singular values: the SVD fallback
    assert np.allclose(np.abs(leading_loadings(rank_one, 2)[:, 0]), np.abs(np.linalg.svd(rank_one)[2][0]))
