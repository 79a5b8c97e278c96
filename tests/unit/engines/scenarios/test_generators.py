"""Scenario generators: shapes, determinism, whole-row dependence, regime rows, replay, shocks, and a
stylised-fact battery of filtered-historical paths on a small synthetic market."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from arch.bootstrap import optimal_block_length
from scipy.stats import kurtosis

from prometheus.data.synthetic import SyntheticConfig, SyntheticMarket, average_pairwise_correlation, generate_market
from prometheus.engines.scenarios.config import GarchFit, GarchSpec, ReplayWindow, ScenarioConfig, ScenarioKind
from prometheus.engines.scenarios.generators import (
    ScenarioSet,
    automatic_block_length,
    block_bootstrap,
    crisis_correlation,
    estimate_betas,
    fill_missing,
    filtered_historical,
    fit_garch_filter,
    regime_bootstrap,
    replay,
    scenario_rng,
    shocks,
)

SMALL = ScenarioConfig(paths=200, horizon_sessions=10, history_sessions=300, seed=5)
SECTORS = np.array(["A"] * 4 + ["B"] * 4)


def _factor_returns(rows: int = 400, names: int = 8, seed: int = 0) -> np.ndarray:
    """One market factor with loadings 0.5 .. 1.5, plus t(5) idiosyncratic noise: correlated, fat-tailed."""
    rng = np.random.default_rng(seed)
    market = 0.01 * rng.standard_t(5, size=(rows, 1))
    return market * np.linspace(0.5, 1.5, names) + 0.01 * rng.standard_t(5, size=(rows, names))


def _offdiag(x: np.ndarray) -> np.ndarray:
    c = np.corrcoef(x.reshape(-1, x.shape[-1]), rowvar=False)
    return c[np.triu_indices_from(c, 1)]


def _all_sets(returns: np.ndarray, cfg: ScenarioConfig, seed: int) -> list[ScenarioSet]:
    regimes = np.arange(len(returns)) % 3
    return [
        filtered_historical(returns, cfg, scenario_rng(seed, "fhs")),
        block_bootstrap(returns, cfg, scenario_rng(seed, "block")),
        regime_bootstrap(returns, regimes, 1, cfg, scenario_rng(seed, "regime")),
        shocks(returns, SECTORS, cfg, scenario_rng(seed, "shock"))[2],
    ]


def test_generators_when_run_give_paths_by_horizon_by_names_float32() -> None:
    for s in _all_sets(_factor_returns(), SMALL, 1):
        assert s.paths.shape == (200, 10, 8), s.name
        assert (s.n_paths, s.horizon, s.n_names) == (200, 10, 8)
        assert s.paths.dtype == np.float32
        assert np.isfinite(s.paths).all()
    kinds = [s.kind for s in _all_sets(_factor_returns(), SMALL, 1)]
    assert kinds == [ScenarioKind.FILTERED_HISTORICAL, ScenarioKind.BLOCK_BOOTSTRAP, ScenarioKind.REGIME_BOOTSTRAP,
                     ScenarioKind.SHOCK]  # fmt: skip


def test_generators_when_seed_repeats_are_identical_and_differ_with_another_seed() -> None:
    x = _factor_returns()
    for a, b, c in zip(_all_sets(x, SMALL, 1), _all_sets(x, SMALL, 1), _all_sets(x, SMALL, 2), strict=True):
        np.testing.assert_array_equal(a.paths, b.paths)
        assert not np.array_equal(a.paths, c.paths), a.name


def test_scenario_rng_when_names_differ_gives_independent_streams() -> None:
    assert scenario_rng(1, "fhs").integers(1 << 30) == scenario_rng(1, "fhs").integers(1 << 30)
    assert scenario_rng(1, "fhs").integers(1 << 30) != scenario_rng(1, "block").integers(1 << 30)


def test_fill_missing_when_name_unlisted_takes_sector_then_market_mean() -> None:
    x = np.array(
        [
            [np.nan, 0.02, 0.04, 0.10],  # sector A has a listed name: its mean
            [np.nan, np.nan, 0.06, 0.00],  # sector A empty: the market mean of the listed names
            [np.nan, np.nan, np.nan, np.nan],  # nobody listed: zero
        ]
    )
    out = fill_missing(x, np.array(["A", "A", "B", "B"]))
    np.testing.assert_allclose(out[0], [0.02, 0.02, 0.04, 0.10])
    np.testing.assert_allclose(out[1], [0.03, 0.03, 0.06, 0.00])
    np.testing.assert_allclose(out[2], 0.0)
    np.testing.assert_allclose(fill_missing(x)[0], [np.mean([0.02, 0.04, 0.10]), 0.02, 0.04, 0.10])


def test_generators_when_history_has_gaps_give_finite_paths() -> None:
    x = _factor_returns()
    x[:250, 0] = np.nan  # listed late
    x[350:, 5] = np.nan  # delisted
    for s in _all_sets(x, SMALL, 3):
        assert np.isfinite(s.paths).all(), s.name


def test_block_bootstrap_when_rows_are_whole_keeps_the_historical_correlation() -> None:
    x = _factor_returns(rows=600, seed=4)
    cfg = SMALL.model_copy(update={"history_sessions": 600, "paths": 2000})
    hist = _offdiag(x)
    for s in (
        block_bootstrap(x, cfg, scenario_rng(0, "block")),
        regime_bootstrap(x, np.zeros(len(x), dtype=int), 0, cfg, scenario_rng(0, "regime")),
    ):
        gen = _offdiag(s.paths)
        assert np.abs(gen - hist).max() < 0.05, s.name
        assert np.corrcoef(gen, hist)[0, 1] > 0.95, s.name


def test_filtered_historical_when_rows_are_whole_keeps_the_residual_correlation() -> None:
    x = _factor_returns(rows=600, seed=4)
    cfg = SMALL.model_copy(update={"history_sessions": 600, "paths": 2000, "horizon_sessions": 5})
    resid = _offdiag(fit_garch_filter(x, cfg.garch).std_resid)
    gen = _offdiag(filtered_historical(x, cfg, scenario_rng(0, "fhs")).paths)
    assert np.abs(gen - resid).max() < 0.05
    assert np.abs(gen - _offdiag(x)).max() < 0.08  # and, here (no regime shift), the returns' own
    # Names resampled independently would lose it: the control shows the test can fail.
    assert np.abs(_offdiag(np.random.default_rng(0).permuted(x, axis=0))).max() < 0.15


def test_filtered_historical_when_volatility_rose_lately_starts_from_the_current_variance() -> None:
    x = _factor_returns(rows=500, seed=6)
    x[-60:] *= 3.0  # a recent volatility spike
    cfg = SMALL.model_copy(update={"history_sessions": 500, "paths": 4000, "horizon_sessions": 1})
    s = filtered_historical(x, cfg, scenario_rng(0, "fhs"))
    assert np.std(s.paths[:, 0], axis=0).mean() > 1.5 * np.std(x[:-60], axis=0).mean()
    assert s.metadata["vol_ratio"] > 1.0


def test_filtered_historical_when_fitted_per_name_runs_with_own_dynamics() -> None:
    x = _factor_returns(rows=400, names=3, seed=7)
    spec = GarchSpec(fit=GarchFit.NAME)
    filt = fit_garch_filter(x, spec)
    assert filt.alpha.shape == (3,)
    assert len(set(filt.beta.round(8))) == 3
    assert np.all(filt.alpha + filt.gamma / 2 + filt.beta <= spec.max_persistence + 1e-12)
    cfg = SMALL.model_copy(update={"garch": spec})
    assert filtered_historical(x, cfg, scenario_rng(0, "fhs")).paths.shape == (200, 10, 3)


def test_filtered_historical_when_fit_lands_outside_the_positive_region_keeps_variance_positive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unconstrained GJR fit with alpha + gamma < 0 (met on a market with names listed mid-window) made the
    variance negative on down days and the paths NaN; the filter projects the fit onto alpha + gamma >= 0."""
    from prometheus.engines.scenarios import generators

    monkeypatch.setattr(generators, "_arch_params",
                        lambda x, spec: {"alpha": 0.3745, "gamma": -0.3796, "beta": 0.8103, "nu": 3.7})  # fmt: skip
    x = _factor_returns(rows=400, names=4, seed=8)
    filt = fit_garch_filter(x, GarchSpec())
    assert np.all(filt.alpha + filt.gamma >= 0.0)
    assert np.all(filt.variance > 0.0)
    s = filtered_historical(x, SMALL.model_copy(update={"history_sessions": 400}), scenario_rng(0, "fhs"))
    assert np.isfinite(s.paths).all()


def test_block_bootstrap_when_automatic_uses_politis_white_on_market_and_its_squares() -> None:
    x = _factor_returns(rows=300)
    m = x.mean(axis=1)
    expected = max(1.0, optimal_block_length(np.column_stack([m, (m - m.mean()) ** 2]))["stationary"].max())
    assert automatic_block_length(m) == pytest.approx(expected)
    assert block_bootstrap(x, SMALL, scenario_rng(0, "b")).metadata["block_length"] == pytest.approx(expected)


def test_block_bootstrap_when_block_is_very_long_each_path_is_one_contiguous_stretch() -> None:
    x = np.tile(np.arange(300, dtype=float)[:, None], (1, 3))  # each row's value is its index
    cfg = SMALL.model_copy(update={"block_length": 1e9})
    paths = block_bootstrap(x, cfg, scenario_rng(0, "b")).paths[:, :, 0]
    steps = np.diff(paths, axis=1) % 300  # the stationary bootstrap wraps from the last row to the first
    assert np.all(steps == 1)


def test_regime_bootstrap_when_drawing_uses_only_rows_of_the_label() -> None:
    rows = 400
    x = np.tile(np.arange(rows, dtype=float)[:, None], (1, 4))  # value = row index: every draw is traceable
    labels = np.random.default_rng(0).integers(0, 3, rows)
    cfg = SMALL.model_copy(update={"history_sessions": rows})
    for label in (0, 1, 2):
        drawn = regime_bootstrap(x, labels, label, cfg, scenario_rng(0, "r")).paths.astype(int)
        assert np.all(drawn == drawn[:, :, :1])  # whole rows
        assert set(np.unique(drawn)) <= set(np.flatnonzero(labels == label))
        assert len(np.unique(drawn)) > 0.8 * np.sum(labels == label)


def test_regime_bootstrap_when_window_lacks_the_label_uses_history_and_raises_without_any() -> None:
    x = np.tile(np.arange(500, dtype=float)[:, None], (1, 2))
    labels = np.zeros(500, dtype=int)
    labels[20:40] = 2  # the only crisis, long before the 300-session window
    s = regime_bootstrap(x, labels, 2, SMALL, scenario_rng(0, "r"), stressed=True)
    assert s.name == "regime_stressed"
    assert s.metadata["scope"] == "history"
    assert set(np.unique(s.paths)) <= set(range(20, 40))
    with pytest.raises(ValueError, match="no session"):
        regime_bootstrap(x, labels, 1, SMALL, scenario_rng(0, "r"))


def test_replay_when_windows_given_equals_history_padded_with_zero() -> None:
    x = _factor_returns(rows=60)
    days = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(60)]
    windows = (
        ReplayWindow(name="w1", start=dt.date(2020, 1, 11), end=dt.date(2020, 1, 20)),
        ReplayWindow(name="w2", start=dt.date(2020, 2, 1), end=dt.date(2020, 2, 5)),
        ReplayWindow(name="none", start=dt.date(2021, 1, 1), end=dt.date(2021, 1, 5)),
    )
    s = replay(x, days, windows)
    assert s.paths.shape == (2, 10, 8)
    np.testing.assert_array_equal(s.paths[0], x[10:20].astype(np.float32))
    np.testing.assert_array_equal(s.paths[1, :5], x[31:36].astype(np.float32))
    assert np.all(s.paths[1, 5:] == 0.0)
    assert s.metadata["lengths"] == [10, 5]
    assert s.metadata["skipped"] == ["none"]


def test_shocks_when_market_falls_names_move_beta_times_the_shock() -> None:
    x = _factor_returns()
    betas = np.linspace(0.5, 1.5, 8)
    market, sector, _ = shocks(x, SECTORS, SMALL, scenario_rng(0, "s"), betas=betas)
    np.testing.assert_allclose(market.paths[0, 0], betas * -0.10, rtol=1e-6)
    assert sector.metadata["sectors"] == ["A", "B"]
    np.testing.assert_allclose(sector.paths[:, 0], [[-0.2] * 4 + [0.0] * 4, [0.0] * 4 + [-0.2] * 4], rtol=1e-6)
    # Estimated betas: the planted loadings, up to noise.
    estimated, _, _ = shocks(x, SECTORS, SMALL.model_copy(update={"shock_sectors": ("B",)}), scenario_rng(0, "s"))
    np.testing.assert_allclose(estimated.metadata["betas"], estimate_betas(x[-300:]))
    assert np.corrcoef(estimated.metadata["betas"], betas)[0, 1] > 0.8


def test_crisis_correlation_when_raised_hits_the_level_and_stays_a_correlation_matrix() -> None:
    corr = np.corrcoef(_factor_returns(rows=300), rowvar=False)
    stressed, weight = crisis_correlation(corr, 0.6)
    n = len(corr)
    assert (stressed.sum() - n) / (n * (n - 1)) == pytest.approx(0.6)
    np.testing.assert_allclose(np.diag(stressed), 1.0)
    assert np.linalg.eigvalsh(stressed).min() > -1e-12
    assert 0 < weight < 1
    assert crisis_correlation(stressed, 0.3)[1] == 0.0  # already above the level: unchanged


def test_shocks_when_correlation_stressed_draws_keep_vols_and_reach_the_level() -> None:
    x = _factor_returns(rows=300)
    cfg = SMALL.model_copy(update={"paths": 3000})
    draws = shocks(x, SECTORS, cfg, scenario_rng(0, "s"))[2].paths
    assert _offdiag(draws).mean() == pytest.approx(0.6, abs=0.02)
    np.testing.assert_allclose(draws.reshape(-1, 8).std(axis=0), x.std(axis=0), rtol=0.05)


# --- stylised facts of filtered-historical paths on the synthetic market --------------------------------------


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return generate_market(SyntheticConfig(n_names=30, years=4, seed=11))


def test_fhs_paths_when_generated_from_the_synthetic_market_have_fat_tails_and_clustering(
    market: SyntheticMarket,
) -> None:
    total, sectors = market.panel.returns.total, market.panel.universe.sector.astype(str)
    cfg = ScenarioConfig(paths=1000, horizon_sessions=60, seed=11)
    paths = filtered_historical(total, cfg, scenario_rng(cfg.seed, "fhs"), sectors=sectors).paths.astype(float)
    # Fat tails: Pearson kurtosis of each name's generated daily returns (seed 11: median ~19, min ~7.7).
    kurt = kurtosis(paths.reshape(-1, paths.shape[2]), axis=0, fisher=False)
    assert np.median(kurt) > 3.0
    assert kurt.min() > 3.0
    # Volatility clustering within paths: lag-1 ACF of |r - mean| per name, pooled over paths (seed 11: ~0.23).
    a = np.abs(paths - paths.mean(axis=(0, 1)))
    a -= a.mean(axis=(0, 1))
    acf1 = (a[:, :-1] * a[:, 1:]).sum(axis=(0, 1)) / (a * a).sum(axis=(0, 1))
    assert np.median(acf1) > 0.05
    assert np.all(acf1 > 0)


def test_regime_bootstrap_when_crisis_rows_drawn_is_more_correlated_than_calm(market: SyntheticMarket) -> None:
    total, regimes = market.panel.returns.total, market.panel.regimes
    sectors = market.panel.universe.sector.astype(str)
    cfg = ScenarioConfig(paths=500, horizon_sessions=20, history_sessions=len(total), seed=11)
    corr = {}
    for label in (0, 2):
        s = regime_bootstrap(total, regimes, label, cfg, scenario_rng(cfg.seed, f"regime{label}"), sectors=sectors)
        corr[label] = average_pairwise_correlation(s.paths.reshape(-1, s.n_names).astype(float), np.arange(10000))
    # Seed 11: calm ~0.20, crisis ~0.65 (the market's own calm / crisis correlation, as the rows are the market's).
    assert corr[2] > corr[0] + 0.2
