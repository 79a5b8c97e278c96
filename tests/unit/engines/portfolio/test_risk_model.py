"""Risk model: factor-form algebra, recovery of known covariances, missing data, and the regime validation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf
from threadpoolctl import threadpool_limits

from prometheus.core.errors import ConfigError, DataError
from prometheus.engines.portfolio.risk_model import (
    FactorRiskModel,
    RiskModelConfig,
    estimate_risk_model,
    volatility_regime_scale,
)

REGIMES = ("calm", "normal", "crisis")


def _names(n: int, sectors: int = 4) -> tuple[np.ndarray, np.ndarray]:
    symbols = np.array([f"N{i:03d}" for i in range(n)])
    return symbols, np.array(["ABCDEFGH"[i * sectors // n] for i in range(n)])


def _factor_data(t: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns (t, n) from a known 3-factor model (market, two styles) and its covariance."""
    rng = np.random.default_rng(seed)
    b = np.c_[rng.normal(1.0, 0.3, n), 0.5 * rng.standard_normal((n, 2))] * 0.01
    d = (0.015 * np.exp(rng.normal(0.0, 0.2, n))) ** 2
    returns = rng.standard_normal((t, 3)) @ b.T + rng.standard_normal((t, n)) * np.sqrt(d)
    return returns, b @ b.T + np.diag(d)


def _hand_model() -> FactorRiskModel:
    rng = np.random.default_rng(0)
    n, k = 6, 2
    a = rng.standard_normal((k, k))
    return FactorRiskModel(
        symbols=np.array(list("abcdef")),
        loadings=rng.standard_normal((n, k)) * 0.01,
        factor_cov=a @ a.T + np.eye(k),
        specific_var=rng.uniform(1e-4, 3e-4, n),
        sectors=np.array(["x", "x", "y", "y", "", "y"]),
        betas=np.linspace(0.5, 1.5, n),
    )


def test_covariance_when_dense_equals_b_f_b_plus_d_and_portfolio_variance_agrees() -> None:
    m = _hand_model()
    expected = m.loadings @ m.factor_cov @ m.loadings.T + np.diag(m.specific_var)
    np.testing.assert_allclose(m.covariance(), expected, rtol=1e-12)
    w = np.array([0.3, -0.1, 0.2, 0.4, 0.1, 0.1])
    assert m.portfolio_variance(w) == pytest.approx(w @ expected @ w, rel=1e-12)
    assert m.vol(w) == pytest.approx(np.sqrt(252.0 * w @ expected @ w), rel=1e-12)


def test_marginal_contributions_when_summed_give_vol_and_match_the_gradient() -> None:
    m = _hand_model()
    w = np.array([0.3, -0.1, 0.2, 0.4, 0.1, 0.1])
    mc = m.marginal_contributions(w)
    assert mc.sum() == pytest.approx(m.vol(w), rel=1e-12)
    eps = 1e-7
    grad = np.array([(m.vol(w + eps * e) - m.vol(w - eps * e)) / (2 * eps) for e in np.eye(6)])
    np.testing.assert_allclose(mc, w * grad, rtol=1e-6)
    np.testing.assert_array_equal(m.marginal_contributions(np.zeros(6)), np.zeros(6))


def test_exposures_when_computed_are_b_prime_w_sector_sums_and_weighted_betas() -> None:
    m = _hand_model()
    w = np.array([0.3, -0.1, 0.2, 0.4, 0.1, 0.1])
    np.testing.assert_allclose(m.factor_exposures(w), m.loadings.T @ w)
    assert m.sector_exposures(w) == pytest.approx({"": 0.1, "x": 0.2, "y": 0.7})
    assert m.beta(w) == pytest.approx(float(m.betas @ w))


def test_subset_when_taken_keeps_rows_in_the_order_asked_and_refuses_unknown_names() -> None:
    m = _hand_model()
    s = m.subset(["e", "a", "c"])
    np.testing.assert_array_equal(s.symbols, ["e", "a", "c"])
    np.testing.assert_array_equal(s.loadings, m.loadings[[4, 0, 2]])
    np.testing.assert_array_equal(s.specific_var, m.specific_var[[4, 0, 2]])
    np.testing.assert_array_equal(s.betas, m.betas[[4, 0, 2]])
    np.testing.assert_array_equal(s.sectors, ["", "x", "y"])
    np.testing.assert_allclose(s.covariance(), m.covariance()[np.ix_([4, 0, 2], [4, 0, 2])])
    with pytest.raises(KeyError, match="zz"):
        m.subset(["a", "zz"])


def test_model_when_arrays_disagree_or_a_variance_is_zero_is_refused() -> None:
    m = _hand_model()
    with pytest.raises(ValueError, match="positive"):
        FactorRiskModel(m.symbols, m.loadings, m.factor_cov, np.zeros(6), m.sectors, m.betas)
    with pytest.raises(ValueError, match="loadings"):
        FactorRiskModel(m.symbols, m.loadings[:, :1], m.factor_cov, m.specific_var, m.sectors, m.betas)


def test_config_when_inconsistent_is_refused() -> None:
    with pytest.raises(ConfigError, match="min_observations"):
        RiskModelConfig.from_mapping({"window": 100, "min_observations": 126})
    with pytest.raises(ConfigError, match="exceed factors"):
        RiskModelConfig.from_mapping({"min_observations": 20, "factors": 20})
    with pytest.raises(ConfigError, match="half_life"):
        RiskModelConfig.from_mapping({"method": "ewma", "half_life": None})
    with pytest.raises(ConfigError, match="bogus"):
        RiskModelConfig.from_mapping({"bogus": 1})
    with pytest.raises(ConfigError, match="vra_half_life"):
        RiskModelConfig.from_mapping({"vra_half_life": 0.0})


def test_pca_when_data_come_from_a_known_factor_model_recovers_covariance_and_portfolio_vols() -> None:
    returns, truth = _factor_data(2000, 100, seed=1)
    symbols, sectors = _names(100)
    cfg = RiskModelConfig(window=2000, min_observations=500, factors=3, half_life=None)
    m = estimate_risk_model(returns, symbols, sectors, cfg)
    est = m.covariance()
    error = np.linalg.norm(est - truth) / np.linalg.norm(truth)
    # The sampling error of the factor variances (about sqrt(2 / T)) bounds any estimator: no worse than the sample.
    sample = np.linalg.norm(np.cov(returns.T) - truth) / np.linalg.norm(truth)
    assert m.factors == 3
    assert error < 0.1, error
    assert error < 1.1 * sample, (error, sample)
    w = np.random.default_rng(2).standard_normal((50, 100))
    ratios = np.sqrt(np.einsum("pi,ij,pj->p", w, est, w) / np.einsum("pi,ij,pj->p", w, truth, w))
    assert np.all(np.abs(ratios - 1.0) < 0.10), (ratios.min(), ratios.max())


def test_pca_when_equal_weighted_portfolio_has_beta_one_and_betas_track_the_sample() -> None:
    returns, _ = _factor_data(252, 120, seed=3)
    symbols, sectors = _names(120)
    m = estimate_risk_model(returns, symbols, sectors, RiskModelConfig(half_life=None))
    ew = np.full(120, 1.0 / 120)
    assert m.beta(ew) == pytest.approx(1.0, abs=1e-12)
    market = returns.mean(axis=1)
    x = returns - returns.mean(axis=0)
    sample = x.T @ (market - market.mean()) / np.sum((market - market.mean()) ** 2)
    assert np.max(np.abs(m.betas - sample)) < 0.05


@pytest.mark.parametrize("names", [60, 400])
def test_ledoit_wolf_when_data_complete_equals_sklearn_in_factor_form(names: int) -> None:
    returns, _ = _factor_data(252, names, seed=4)
    symbols, sectors = _names(names)
    m = estimate_risk_model(returns, symbols, sectors, RiskModelConfig(method="ledoit_wolf"))
    expected, _ = ledoit_wolf(returns)
    np.testing.assert_allclose(m.covariance(), expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())
    assert m.factors <= min(names, 251)


def _ewma_cov(returns: np.ndarray, half_life: float) -> np.ndarray:
    t = returns.shape[0]
    w = 0.5 ** (np.arange(t - 1, -1, -1) / half_life)
    w /= w.sum()
    x = returns - w @ returns
    return (x * w[:, None]).T @ x / (1.0 - np.sum(w * w))


def test_ewma_when_full_rank_equals_the_weighted_covariance() -> None:
    returns, _ = _factor_data(252, 40, seed=5)
    symbols, sectors = _names(40)
    m = estimate_risk_model(returns, symbols, sectors, RiskModelConfig(method="ewma", specific_floor=1e-3))
    np.testing.assert_allclose(m.covariance(), _ewma_cov(returns, 63.0), rtol=1e-9)


def test_ewma_when_names_outnumber_rows_is_low_rank_plus_floor_and_exact_on_the_data_span() -> None:
    returns, _ = _factor_data(100, 300, seed=6)
    symbols, sectors = _names(300)
    cfg = RiskModelConfig(method="ewma", window=100, min_observations=50)
    m = estimate_risk_model(returns, symbols, sectors, cfg)
    dense = _ewma_cov(returns, 63.0)
    floor = cfg.specific_floor * float(np.median(np.diag(dense)))
    assert m.factors < 100
    np.testing.assert_allclose(m.specific_var, floor)
    eig = np.linalg.eigvalsh(m.covariance())
    assert eig.min() == pytest.approx(floor, rel=1e-6)
    # Directions the data span with variance above the floor are kept exactly.
    top = np.linalg.eigh(dense)[1][:, -5:]
    np.testing.assert_allclose(top.T @ m.covariance() @ top, top.T @ dense @ top, rtol=1e-8, atol=1e-14)


def test_factors_when_zero_give_a_diagonal_model() -> None:
    returns, _ = _factor_data(252, 30, seed=7)
    symbols, sectors = _names(30)
    m = estimate_risk_model(returns, symbols, sectors, RiskModelConfig(factors=0))
    assert m.loadings.shape == (30, 0)
    np.testing.assert_allclose(np.diag(m.covariance()), m.specific_var)
    assert m.vol(np.full(30, 1 / 30)) > 0.0


def test_missing_data_when_a_name_lists_late_regression_undoes_the_zero_fill_attenuation() -> None:
    returns, truth = _factor_data(2000, 80, seed=8)
    returns[:1000, 0] = np.nan  # listed half way through the window
    returns[::7, 1] = np.nan  # scattered gaps
    symbols, sectors = _names(80)
    cfg = RiskModelConfig(window=2000, min_observations=500, factors=3, half_life=None)
    est = estimate_risk_model(returns, symbols, sectors, cfg).covariance()
    for i in (0, 1):
        others = np.arange(80) != i
        scale = est[i, others] @ truth[i, others] / (truth[i, others] @ truth[i, others])
        # Zero-filling alone would scale the late name's covariances by sqrt(1/2) (and the gappy one's by 0.93).
        assert scale == pytest.approx(1.0, abs=0.15), (i, scale)  # sampling sd about 0.05
        assert est[i, i] == pytest.approx(truth[i, i], rel=0.1)


def test_missing_data_when_history_is_short_uses_the_sector_mean_loadings_and_at_least_median_risk() -> None:
    returns, _ = _factor_data(252, 40, seed=9)
    symbols, sectors = _names(40)  # sectors A..D, 10 names each
    returns[:200, 3] = np.nan  # 52 returns: too few for its own estimate
    returns[:, 25] = np.nan  # no returns at all
    sectors[25] = ""
    m = estimate_risk_model(returns, symbols, sectors, RiskModelConfig(factors=5))
    assert list(m.symbols) == list(symbols)
    estimated = np.ones(40, dtype=bool)
    estimated[[3, 25]] = False
    peers = estimated & (sectors == "A")
    np.testing.assert_allclose(m.loadings[3], m.loadings[peers].mean(axis=0))
    np.testing.assert_allclose(m.loadings[25], m.loadings[estimated].mean(axis=0))
    median = float(np.median(m.specific_var[estimated]))
    assert m.specific_var[25] == pytest.approx(median)
    assert m.specific_var[3] >= median
    # Its total variance is at least what it showed.
    assert m.covariance()[3, 3] >= np.nanvar(returns[:, 3], ddof=1) - 1e-15
    assert 0.5 < m.betas[3] < 1.5


def test_estimate_when_too_few_names_have_history_raises() -> None:
    returns, _ = _factor_data(252, 5, seed=10)
    returns[:200, 1:] = np.nan
    symbols, sectors = _names(5)
    with pytest.raises(DataError, match="need 2"):
        estimate_risk_model(returns, symbols, sectors, RiskModelConfig())
    with pytest.raises(DataError, match="rows"):
        estimate_risk_model(returns, symbols[:4], sectors[:4], RiskModelConfig())


# --- Volatility regime adjustment ----------------------------------------------------------------------------------


def _vra_by_hand(r: np.ndarray, half_life: float, vra_half_life: float, burn_in: int = 20) -> float:
    """lambda^2 from its definition: each return over the EW variance of the rows strictly before it."""
    t, n = r.shape
    bias, age = [], []
    for s in range(t):
        z2 = []
        for i in range(n):
            past = np.flatnonzero(np.isfinite(r[:s, i]))
            if np.isfinite(r[s, i]) and len(past) >= burn_in:
                w = 0.5 ** ((s - 1 - past) / half_life)
                z2.append(r[s, i] ** 2 / (w @ r[past, i] ** 2 / w.sum()))
        if z2:
            bias.append(np.mean(z2))
            age.append(t - 1 - s)
    w = 0.5 ** (np.array(age) / vra_half_life)
    return float(w @ np.array(bias) / w.sum())


def test_vra_when_computed_equals_its_definition_with_forecasts_made_before_each_return() -> None:
    rng = np.random.default_rng(12)
    r = rng.standard_normal((90, 12)) * 0.01
    r[:40, 3] = np.nan  # listed late: no forecast before its 20th return
    r[::9, 5] = np.nan
    r[-1, 0] = 0.2  # a shock on the last row counts fully: its own forecast does not contain it
    assert volatility_regime_scale(r, 30.0, 10.0) == pytest.approx(_vra_by_hand(r, 30.0, 10.0), rel=1e-12)
    assert volatility_regime_scale(r[:15], 30.0, 10.0) == 1.0  # no name has 20 returns before a row


def test_vra_when_vol_doubles_reacts_within_days_and_is_one_in_steady_state() -> None:
    rng = np.random.default_rng(11)
    r = rng.standard_normal((1100, 200)) * 0.01
    r[300:] *= 2.0  # variance x 4 from row 300 on
    scale = {t: volatility_regime_scale(r[t - 252 : t], 63.0, 42.0) for t in (299, 305, 310, 342, 1100)}
    fast = volatility_regime_scale(r[300 - 252 : 305], 63.0, 5.0)
    assert scale[299] == pytest.approx(1.0, abs=0.05)  # steady state
    # EW weight of the 5 (10, 42) newest rows at half-life 42 is 8 % (15 %, 50 %): lambda^2 ~ 1 + 3 x that.
    assert 1.15 < scale[305] < 1.35
    assert 1.3 < scale[310] < 1.6
    assert scale[342] > 1.6
    assert fast > 2.0  # half-life 5: half way to the new level in 5 sessions
    assert scale[1100] == pytest.approx(1.0, abs=0.05)  # the window has settled at the new level again
    # In the model every variance is scaled by lambda^2: loadings by lambda, correlations and betas unchanged.
    symbols, sectors = _names(200)
    plain = estimate_risk_model(r[:310], symbols, sectors, RiskModelConfig(factors=5))
    adjusted = estimate_risk_model(r[:310], symbols, sectors, RiskModelConfig(factors=5, vra_half_life=42.0))
    np.testing.assert_allclose(adjusted.covariance(), scale[310] * plain.covariance(), rtol=1e-10)
    np.testing.assert_allclose(adjusted.betas, plain.betas, rtol=1e-10)


def test_vra_when_returns_after_the_estimate_are_poisoned_leaves_the_forecast_unchanged() -> None:
    returns, _ = _factor_data(400, 50, seed=13)
    symbols, sectors = _names(50)
    cfg = RiskModelConfig(factors=5, vra_half_life=42.0)
    t = 300
    bad = returns.copy()
    bad[t:] = -5.0 * bad[t:] + 0.03
    clean = estimate_risk_model(returns[:t], symbols, sectors, cfg)
    dirty = estimate_risk_model(bad[:t], symbols, sectors, cfg)
    np.testing.assert_array_equal(clean.covariance(), dirty.covariance())
    # The test can fail: one poisoned row inside the window moves the forecast.
    leaky = estimate_risk_model(bad[: t + 1], symbols, sectors, cfg)
    assert not np.allclose(leaky.covariance(), clean.covariance())


# --- Known-covariance validation across regimes --------------------------------------------------------------------


def _regime_market(seed: int, sessions: int, blocks: bool) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """60 names, market + 4 sectors + 2 styles; per regime (calm, normal, crisis) the synthetic market's scalings.

    Market vol 11 / 17 / 32 %, sector and style vol x 0.9 / 1 / 1.3, idiosyncratic vol x 0.9 / 1 / 1.3 and every
    loading x 1.25 in crisis (so correlations rise too). ``blocks``: long regime blocks (calm, crisis, normal,
    calm, crisis) instead of the Markov chain with mean spells of 250 / 80 / 40 sessions.
    """
    rng = np.random.default_rng(seed)
    n = 60
    sector = np.arange(n) * 4 // n
    load = np.zeros((n, 7))
    load[:, 0] = np.clip(rng.normal(1.0, 0.3, n), 0.3, 2.0)
    load[np.arange(n), 1 + sector] = 1.0
    load[:, 5:] = rng.standard_normal((n, 2))
    idio = 0.25 * np.exp(rng.normal(0.0, 0.2, n))
    covs = []
    for market, mult, loading in ((0.11, 0.9, 1.0), (0.17, 1.0, 1.0), (0.32, 1.3, 1.25)):
        vols = np.r_[market, [0.10 * mult] * 4, [0.04 * mult] * 2]
        lg = load * loading
        covs.append(((lg * vols**2) @ lg.T + np.diag((idio * mult) ** 2)) / 252.0)
    if blocks:
        regime = np.repeat([0, 2, 1, 0, 2], sessions // 5)
    else:
        stay = 1.0 - 1.0 / np.array([250.0, 80.0, 40.0])
        regime = np.zeros(sessions, dtype=int)
        for t in range(1, sessions):
            g = regime[t - 1]
            if rng.random() > stay[g]:
                g = 1 if g != 1 else (0 if rng.random() < 0.5 else 2)
            regime[t] = g
    shocks = rng.standard_normal((len(regime), n))
    returns = np.empty_like(shocks)
    for g, cov in enumerate(covs):
        returns[regime == g] = shocks[regime == g] @ np.linalg.cholesky(cov).T
    return returns, regime, covs


def _portfolios(n: int) -> np.ndarray:
    """Equal-weighted long, random dollar-neutral long-short, 10-name concentrated, sector tilt."""
    rng = np.random.default_rng(3)
    ls = rng.standard_normal(n)
    ls -= ls.mean()
    ls /= np.abs(ls).sum() / 2.0
    conc = np.zeros(n)
    conc[rng.choice(n, 10, replace=False)] = 0.1
    tilt = np.where(np.arange(n) < n // 4, 2.0, 0.5)
    return np.stack([np.full(n, 1.0 / n), ls, conc, tilt / tilt.sum()])


def _walk_forward(
    returns: np.ndarray, regime: np.ndarray, cfg: RiskModelConfig, step: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardised returns ``r_p / sigma_p`` (sessions, portfolios), each session's regime and its regime age.

    Re-estimated every ``step`` sessions from the trailing ``window`` rows strictly before the first session it
    forecasts, so no estimate sees a return it predicts.
    """
    symbols, sectors = _names(returns.shape[1])
    port = _portfolios(returns.shape[1])
    z, regimes, age = [], [], []
    since = np.zeros(len(regime), dtype=int)
    for t in range(1, len(regime)):
        since[t] = since[t - 1] + 1 if regime[t] == regime[t - 1] else 0
    with threadpool_limits(1):  # many small matrices: threads only contend on the shared cores
        for t in range(cfg.window, len(regime), step):
            model = estimate_risk_model(returns[t - cfg.window : t], symbols, sectors, cfg)
            sigma = np.sqrt([model.portfolio_variance(p) for p in port])
            rows = slice(t, min(t + step, len(regime)))
            z.append(returns[rows] @ port.T / sigma)
            regimes.append(regime[rows])
            age.append(since[rows])
    return np.vstack(z), np.concatenate(regimes), np.concatenate(age)


def _ratio(z: np.ndarray) -> float:
    """Realised / predicted vol pooled over sessions and portfolios: the RMS of standardised returns."""
    return float(np.sqrt(np.mean(z**2)))


def test_regime_validation_when_walked_forward_meets_the_bar_in_calm_and_normal_but_lags_into_a_crisis() -> None:
    """METHODS bar: realised / predicted vol in [0.8, 1.25] per regime, with a known covariance per regime.

    Seed 23, 3000 forecast sessions (1080 calm, 1693 normal, 227 crisis), realised / predicted (calm / normal /
    crisis), re-estimated every 5 sessions:

    - default EW-PCA (half-life 63): 0.88 / 1.00 / 1.67;
    - with the volatility regime adjustment, ``vra_half_life`` 42 (Barra USE4S): 0.91 / 0.98 / 1.46;
    - the true regime covariance itself: 0.98 / 0.99 / 1.00, so the shortfall is the estimators'.

    Crisis fails the bar with both and the test says so. A point-in-time model cannot see a switch before it
    happens: entering a crisis (spells of ~40 sessions, 32 % market vol against 11-17 %) it under-predicts, and
    after one it over-predicts the calm that follows. The adjustment removes most of the lag once a spell is ten
    sessions old (crisis sessions of age >= 10: 1.47 unadjusted, 1.22 adjusted, 1.09 at half-life 10) but not in
    its first ten sessions (2.21 / 2.10 / 1.94). The half-life 42 is the literature's, not tuned; on the
    development seed 101 (never a test seed) 42 gave 0.91 / 1.00 / 1.32 (unadjusted 0.87 / 1.03 / 1.44; half-life
    21: 1.29, 10: 1.27 in crisis). The cross-sectional bias statistic averages names, whose crisis variance is
    ~2.9 x normal, while the market-heavy portfolios' is ~5 x: it under-scales them (crisis, adjusted: equal
    weight 1.62, long-short 1.11). Once a regime has lasted three half-lives (next test) every regime is within
    the bar with or without it.
    """
    returns, regime, covs = _regime_market(23, 3252, blocks=False)
    cfg, adjusted = RiskModelConfig(), RiskModelConfig(vra_half_life=42.0)
    ratios, vra = {}, {}
    for out, c in ((ratios, cfg), (vra, adjusted)):
        z, regimes, _ = _walk_forward(returns, regime, c)
        out.update({name: _ratio(z[regimes == g]) for g, name in enumerate(REGIMES)})
    port = _portfolios(60)
    oracle_sigma = np.sqrt(np.einsum("pi,sij,pj->sp", port, np.stack(covs)[regime[cfg.window :]], port))
    oracle = returns[cfg.window :] @ port.T / oracle_sigma
    oracle_ratios = {name: _ratio(oracle[regime[cfg.window :] == g]) for g, name in enumerate(REGIMES)}
    print(f"\nrealised/predicted vol, EW-PCA: {ratios}; with VRA: {vra}; true covariance: {oracle_ratios}")
    assert all(0.9 <= r <= 1.1 for r in oracle_ratios.values()), oracle_ratios
    for measured in (ratios, vra):
        assert 0.8 <= measured["calm"] <= 1.25
        assert 0.8 <= measured["normal"] <= 1.25
        # Not met: the crisis is under-predicted because the trailing window lags the switch (figures above).
        assert 1.25 < measured["crisis"] < 2.0
    # The adjustment closes part of the gap, and does not cost calm.
    assert vra["crisis"] < ratios["crisis"] - 0.1
    assert vra["calm"] >= ratios["calm"]


@pytest.mark.parametrize("vra_half_life", [None, 42.0], ids=["unadjusted", "vra"])
def test_regime_validation_when_each_regime_has_settled_is_within_the_bar(vra_half_life: float | None) -> None:
    cfg = RiskModelConfig(vra_half_life=vra_half_life)
    returns, regime, _ = _regime_market(5, 2500, blocks=True)  # blocks of 500 sessions
    z, regimes, age = _walk_forward(returns, regime, cfg)
    settled = age >= 3 * 63
    ratios = {name: _ratio(z[settled & (regimes == g)]) for g, name in enumerate(REGIMES)}
    print(f"\nrealised/predicted vol, settled regimes: {ratios}")
    assert all(0.8 <= r <= 1.25 for r in ratios.values()), ratios
