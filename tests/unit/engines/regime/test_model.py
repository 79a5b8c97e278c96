"""Regime models: config rules, refit periods, the HMM forward filter, online jump-model labels."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from hmmlearn.hmm import GaussianHMM

from prometheus.core.errors import ConfigError, DataError
from prometheus.engines.regime import (
    History,
    RegimeConfig,
    RegimeLabel,
    RegimeMethod,
    daily_cross_section,
    ewm_features,
    forward_filter,
    label_online,
    labels_for,
    period_of,
    regime_features,
)
from prometheus.engines.regime.model import strategy_sharpe

T0 = datetime(2000, 1, 1, tzinfo=UTC)


def _two_regime_returns(seed: int, n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    crisis = np.zeros(n, dtype=bool)
    for start in (300, 800, 1250):
        crisis[start : start + 60] = True
    r = np.where(crisis, rng.normal(-0.002, 0.025, n), rng.normal(0.0005, 0.007, n))
    return r, crisis


def _history(r: np.ndarray, cfg: RegimeConfig) -> History:
    sessions = [date.fromordinal(date(2010, 1, 4).toordinal() + int(i * 365 / 252)) for i in range(len(r))]
    f = ewm_features(r, cfg.half_lives, cfg.feature_window, cfg.min_feature_returns)
    return History(sessions, f, r, [T0] * len(r))


def test_config_when_unknown_key_is_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="n_stats"):
        RegimeConfig.from_mapping({"n_stats": 2})


def test_config_when_refit_months_does_not_divide_year_is_rejected() -> None:
    with pytest.raises(ConfigError, match="refit_months"):
        RegimeConfig(refit_months=5)


@pytest.mark.parametrize(("n", "labels"), [(2, ("calm", "crisis")), (3, ("calm", "normal", "crisis"))])
def test_labels_for_when_states_given_orders_calm_to_crisis(n: int, labels: tuple[str, ...]) -> None:
    assert tuple(v.value for v in labels_for(n)) == labels
    assert labels_for(n)[-1] is RegimeLabel.CRISIS


def test_period_of_when_quarterly_returns_calendar_quarter() -> None:
    assert period_of(date(2020, 5, 7), 3) == (date(2020, 4, 1), date(2020, 6, 30))
    assert period_of(date(2020, 12, 31), 12) == (date(2020, 1, 1), date(2020, 12, 31))


def test_forward_filter_when_compared_with_smoother_matches_its_last_row() -> None:
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(0, 1, (200, 2)), rng.normal(3, 2, (100, 2)), rng.normal(0, 1, (100, 2))])
    hmm = GaussianHMM(n_components=2, covariance_type="full", n_iter=50, random_state=0).fit(x)
    filtered = forward_filter(hmm, x)
    # The smoother's last row conditions on the same data as the filter's: they agree there, and only there.
    for i in (10, 150, 250, 399):
        assert np.allclose(filtered[i], hmm.predict_proba(x[: i + 1])[-1], atol=1e-8)
    assert not np.allclose(filtered[:-1], hmm.predict_proba(x)[:-1], atol=1e-3)


def test_forward_filter_when_rows_appended_earlier_rows_unchanged() -> None:
    x = np.random.default_rng(8).normal(0, 1, (300, 2))
    hmm = GaussianHMM(n_components=2, covariance_type="full", n_iter=20, random_state=0).fit(x)
    assert np.array_equal(forward_filter(hmm, x[:200]), forward_filter(hmm, x)[:200])


def test_strategy_sharpe_when_crisis_flags_losses_beats_holding() -> None:
    r = np.array([0.01, -0.05, 0.01, 0.01, -0.05, 0.01] * 20)
    flag = np.roll(r < 0, -1).astype(float)  # flagged the session before each loss
    assert strategy_sharpe(flag, r, 0.0) > strategy_sharpe(np.zeros_like(r), r, 0.0)


@pytest.mark.parametrize("method", list(RegimeMethod))
def test_label_online_when_planted_crises_finds_them_with_ordered_states(method: RegimeMethod) -> None:
    r, crisis = _two_regime_returns(1)
    cfg = RegimeConfig(method=method, feature_window=200, train_sessions=700, min_train_sessions=400,
                       validation_sessions=100, jump_penalties=(30.0,), continuous=False)  # fmt: skip
    h = _history(r, cfg)
    targets = list(range(h.index_before(date(2013, 1, 1)), len(r)))
    models: dict = {}
    probs, ids = label_online(h, targets, cfg, models)
    hit = probs.argmax(axis=1) == 1
    assert hit[crisis[targets]].mean() > 0.6
    assert hit[~crisis[targets]].mean() < 0.35  # the 60-session half-life features lag the exits
    assert all(m.state_vol[0] < m.state_vol[1] for m in models.values())
    assert all(m.known_at <= T0 for m in models.values())
    assert len(set(ids)) == len(models)


def test_label_online_when_sessions_appended_labels_are_bit_identical() -> None:
    r, _ = _two_regime_returns(2)
    cfg = RegimeConfig(feature_window=200, train_sessions=700, min_train_sessions=400, validation_sessions=100,
                       jump_penalties=(10.0, 50.0))  # fmt: skip
    h = _history(r, cfg)
    first = h.index_before(date(2013, 1, 1))
    short = _history(r[:1200], cfg)
    a, _ = label_online(short, list(range(first, 1200)), cfg, {})
    b, _ = label_online(h, list(range(first, len(r))), cfg, {})
    assert np.array_equal(a, b[: 1200 - first])


def test_label_online_when_history_too_short_is_data_error() -> None:
    r, _ = _two_regime_returns(3, n=300)
    cfg = RegimeConfig(feature_window=100)
    h = _history(r, cfg)
    with pytest.raises(DataError, match="need 400"):
        label_online(h, [299], cfg, {})


def _cross_section_history(r: np.ndarray, crisis: np.ndarray, cfg: RegimeConfig, names: int) -> History:
    # Names load on the market and get more idiosyncratic noise in crisis; names == 0: no cross-section.
    rng = np.random.default_rng(11)
    idio = rng.normal(0, 0.01, (len(r), names)) * np.where(crisis, 1.3, 1.0)[:, None]
    daily = daily_cross_section(r[:, None] * 1.1 + idio, cfg.min_cross_section_names) if names else None
    base = _history(r, cfg)
    return History(base.sessions, regime_features(r, daily, cfg), r, base.decision_times)


@pytest.mark.parametrize(("names", "used"), [(30, 13), (0, 9)])
def test_label_online_when_cross_section_configured_uses_it_or_falls_back_without_it(names: int, used: int) -> None:
    r, crisis = _two_regime_returns(4)
    cfg = RegimeConfig(cross_section=True, feature_window=200, train_sessions=700, min_train_sessions=400,
                       validation_sessions=100, jump_penalties=(30.0,))  # fmt: skip
    history = _cross_section_history(r, crisis, cfg, names)
    first = history.index_before(date(history.sessions[0].year + 3, 1, 1))
    models: dict = {}
    probs, _ = label_online(history, list(range(first, len(r))), cfg, models)
    assert history.features.shape[1] == 13
    assert {(m.n_features, m.cross_section) for m in models.values()} == {(used, names > 0)}
    assert ((probs.argmax(axis=1) == 1) == crisis[first:]).mean() > 0.75
