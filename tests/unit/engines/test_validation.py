"""Regime and Stability against the generator's oracles, pooled over ten fixed seeds (issue 19).

Both tests share one set of generated markets (module scope: one file, so one xdist worker builds it once).
Seeds 201-210, 100 names x 10 years, scored after a 3-year burn-in; the seeds were fixed before any result on
them was seen, and configurations are chosen on development seeds 100-119 only. Figures print for the docs
(``docs/engines/regime.md``, ``docs/engines/stability.md``); the scripts ``benchmarks/validate_*_synthetic.py``
print the same figures with the HMM baseline beside them.
"""

from __future__ import annotations

import numpy as np
import pytest

from prometheus.data.synthetic import SyntheticMarket
from prometheus.engines.regime import RegimeConfig
from prometheus.engines.stability import StabilityConfig
from prometheus.engines.validation import (
    MIN_CRISIS_SESSIONS,
    REGIME_ABSOLUTE_BAR,
    REGIME_RELATIVE_BAR,
    STABILITY_RELATIVE_BAR,
    TEST_SEEDS,
    crisis_figures,
    detection_lags,
    first_scored,
    oracle_regime_crisis,
    regime_crisis,
    stability_figures,
    stability_run,
    validation_market,
)


@pytest.fixture(scope="module")
def markets() -> list[tuple[SyntheticMarket, int]]:
    """(market, first scored session) of every test seed, generated in memory once."""
    out = []
    for seed in TEST_SEEDS:
        market = validation_market(seed)
        out.append((market, first_scored(market)))
    return out


@pytest.mark.slow
def test_regime_when_pooled_over_test_seeds_tracks_the_oracle(markets) -> None:
    # The jump model with the default config labels crisis vs rest within 90 % of the true-parameter filter's
    # balanced accuracy and switches no more than twice the truth or the filter does.
    engine_runs, oracle_runs = [], []
    for market, first in markets:
        regimes = market.panel.regimes[first:]
        engine_runs.append((regime_crisis(market, RegimeConfig(), first), regimes))
        oracle_runs.append((oracle_regime_crisis(market, first), regimes))
        jm, oracle = crisis_figures(engine_runs[-1:]), crisis_figures(oracle_runs[-1:])
        print(f"seed {market.config.seed}: JM {jm.as_dict()} | oracle {oracle.as_dict()}")
    jm, oracle = crisis_figures(engine_runs), crisis_figures(oracle_runs)
    print(f"pooled: JM {jm.as_dict()} | oracle {oracle.as_dict()}")
    assert jm.onsets > 0  # crisis onsets among the scored sessions: the detection lag is measured
    assert jm.balanced_accuracy >= REGIME_RELATIVE_BAR * oracle.balanced_accuracy
    assert jm.switches <= max(2 * jm.true_switches, oracle.switches)
    # Not met, reported (issue 19 blocked on it, docs/engines/regime.md): the absolute bar. Pooled 0.741 < 0.75,
    # while the true-parameter filter itself reaches 0.698: the absolute bar lies above the oracle.
    print(f"absolute bar {REGIME_ABSOLUTE_BAR}: {'met' if jm.balanced_accuracy >= REGIME_ABSOLUTE_BAR else 'NOT met'}")


@pytest.mark.slow
def test_stability_when_pooled_over_test_seeds_ranks_regimes_near_the_oracle_and_leads_crises(markets) -> None:
    # The market composite ranks calm < normal < crisis (pooled), ranks positively on every seed with a real
    # crisis sample, and is already above its calm level in the 10 sessions before crisis onsets.
    runs = [stability_run(market, StabilityConfig(), first) for market, first in markets]
    for (market, _), run in zip(markets, runs, strict=True):
        print(f"seed {market.config.seed}: {stability_figures([run]).as_dict()}")
    pooled = stability_figures(runs)
    print(f"pooled: {pooled.as_dict()}")
    # Not met, reported (issue 19 blocked on it, docs/engines/stability.md): 0.80 x the oracle's pooled Spearman
    # (0.536 < 0.537 on the test seeds with the default config, which was not tuned on them).
    relative = pooled.spearman >= STABILITY_RELATIVE_BAR * pooled.oracle_spearman
    print(f"relative bar {STABILITY_RELATIVE_BAR} x oracle: {'met' if relative else 'NOT met'}")
    assert pooled.spearman > 0
    for (market, _), run in zip(markets, runs, strict=True):
        figures = stability_figures([run])
        if figures.crisis_sessions >= MIN_CRISIS_SESSIONS:
            assert figures.spearman > 0, f"seed {market.config.seed}"
    assert pooled.pre_onset_mean > pooled.calm_mean
    assert 0.0 <= pooled.false_alarm_turbulent <= 1.0  # reported


def test_detection_lags_when_visits_found_late_or_never_counts_sessions_or_inf() -> None:
    crisis = np.array([0, 1, 1, 1, 0, 0, 1, 1, 0, 1], dtype=bool)
    pred = np.array([0, 0, 0, 1, 1, 0, 0, 0, 0, 1], dtype=bool)
    assert detection_lags(pred, crisis).tolist() == [2.0, float("inf"), 0.0]


def test_crisis_figures_when_pooled_sums_switches_without_the_seam_and_concatenates_sessions() -> None:
    a = (np.array([0, 1, 1, 0], dtype=bool), np.array([1, 2, 2, 0]))
    b = (np.array([1, 1, 0, 0], dtype=bool), np.array([2, 2, 0, 1]))
    pooled = crisis_figures([a, b])
    assert (pooled.switches, pooled.true_switches, pooled.crisis_sessions, pooled.sessions) == (3, 3, 4, 8)
    assert pooled.balanced_accuracy == pytest.approx(1.0)
    assert pooled.onsets == 1
    assert pooled.median_lag == 0.0
