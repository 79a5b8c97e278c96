"""Kronos: slices by regime, the findings it must make (a regime-only signal, a fall, a vol forecast drifting) and
must not make (no signal), and reports that are point in time and stored."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from prometheus.core.types import Market
from prometheus.meta import OUTCOME_SCHEMA, write_outcomes
from prometheus.meta.kronos import (
    KronosConfig,
    build_report,
    find,
    list_reports,
    lower_cusum,
    non_overlapping,
    performance_slices,
    report_fingerprint,
    save_report,
    t_stat,
)
from prometheus.runtime import RuntimeStore
from prometheus.runtime.decision_log import DecisionLog, DecisionRow

T0 = datetime(2020, 1, 2, 21, 5, tzinfo=UTC)
N = 600


def _sessions() -> list[date]:
    return [date(2020, 1, 2) + timedelta(days=i) for i in range(N)]


def _regimes(seed: int = 0) -> pl.DataFrame:
    """Spells of calm and crisis, about two thirds calm."""
    rng = np.random.default_rng(seed)
    labels, state = [], "calm"
    for _ in range(N):
        if rng.random() < 1 / 40:
            state = "crisis" if state == "calm" else "calm"
        labels.append(state)
    return pl.DataFrame({"session": _sessions(), "regime": labels})


def _outcomes(ic: np.ndarray, engine: str = "assessment", horizon: int = 5) -> pl.DataFrame:
    sessions = _sessions()
    return pl.DataFrame(
        {
            "engine": engine, "market": "US_EQ", "session": sessions,
            "decision_time": [T0 + timedelta(days=i) for i in range(N)], "experiment": "x", "config_version": "v1",
            "decision_key": "", "horizon_sessions": horizon, "outcome": ic, "metrics": "{}",
            "known_at": [T0 + timedelta(days=i + horizon) for i in range(N)],
        },
        schema=OUTCOME_SCHEMA,
    )  # fmt: skip


def test_find_when_signal_works_only_in_calm_reports_a_regime_slice() -> None:
    regimes = _regimes()
    rng = np.random.default_rng(1)
    calm = (regimes["regime"] == "calm").to_numpy()
    ic = np.where(calm, 0.08, 0.0) + rng.normal(0, 0.1, N)
    outcomes = _outcomes(ic)
    slices = performance_slices(outcomes, regimes)
    by = {r["regime"]: r for r in slices.iter_rows(named=True)}
    assert by["calm"]["t_stat"] > 2
    assert by["all"]["samples"] == N
    found = find(outcomes, slices, KronosConfig())
    kinds = [f.kind for f in found]
    assert "regime_slice" in kinds
    slice_finding = next(f for f in found if f.kind == "regime_slice")
    assert slice_finding.evidence["works"] == ["calm"]
    assert slice_finding.evidence["fails"] == ["crisis"]


def test_find_when_there_is_no_signal_over_seeds_rarely_reports_a_slice() -> None:
    """The false-finding rate of the regime-slice rule on pure noise, 20 seeds: at most two."""
    false = 0
    for seed in range(20):
        regimes = _regimes(seed)
        ic = np.random.default_rng(100 + seed).normal(0, 0.1, N)
        outcomes = _outcomes(ic)
        false += any(f.kind == "regime_slice" for f in find(outcomes, performance_slices(outcomes, regimes),
                                                            KronosConfig()))  # fmt: skip
    assert false <= 2  # ~5 % expected: both t >= 2 in one regime and a significant difference


def test_lower_cusum_when_the_mean_falls_one_sd_alarms_soon_and_rarely_otherwise() -> None:
    """Over 20 seeds: a one-sd fall after 252 reference values is caught on (nearly) every seed within ~20 values;
    with no fall, 148 more values alarm rarely (k = 0.5, h = 7: ~3 % of series, see lower_cusum)."""
    caught, delays, false = 0, [], 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        shifted = lower_cusum(np.concatenate([rng.normal(0.05, 0.1, 300), rng.normal(-0.05, 0.1, 100)]), 252)
        if shifted is not None and shifted.index >= 300:
            caught += 1
            delays.append(shifted.index - 300)
        false += lower_cusum(rng.normal(0.05, 0.1, 400), 252) is not None
    assert caught >= 19
    assert float(np.median(delays)) <= 20
    assert false <= 3


def test_t_stat_and_non_overlapping_when_horizon_is_five_use_every_fifth_outcome() -> None:
    x = np.arange(12, dtype=float)
    assert non_overlapping(x, 5).tolist() == [1.0, 6.0, 11.0]
    assert np.isnan(t_stat(np.array([1.0, 2.0])))
    assert t_stat(np.array([1.0, 2.0, 3.0])) == pytest.approx(2.0 / (1.0 / np.sqrt(3)))


def test_build_report_when_as_of_is_earlier_ignores_later_outcomes_and_is_stored(tmp_path: Path) -> None:
    regimes = _regimes()
    rng = np.random.default_rng(2)
    ic = np.where((regimes["regime"] == "calm").to_numpy(), 0.08, 0.0) + rng.normal(0, 0.1, N)
    with RuntimeStore(f"sqlite:///{tmp_path / 'runtime.sqlite'}") as store:
        store.upgrade()
        write_outcomes(store, _outcomes(ic))
        log = DecisionLog(store)
        rows = [DecisionRow(d, T0 + timedelta(days=i), {"label": r}) for i, (d, r) in enumerate(regimes.iter_rows())]
        log.write_decisions("regime", market="US_EQ", experiment="x", config_version="r1", decisions=rows)
        as_of = T0 + timedelta(days=300)
        early = build_report(store, Market.US_EQ, "x", as_of)
        assert early.last_session is not None
        assert early.last_session < date(2020, 1, 2) + timedelta(days=300)
        # Outcomes known after as_of (and their regimes) changing leaves the early report as it was.
        write_outcomes(store, _outcomes(rng.normal(0, 0.1, N)).filter(pl.col("known_at") > as_of))
        assert report_fingerprint(build_report(store, Market.US_EQ, "x", as_of)) == report_fingerprint(early)
        full = build_report(store, Market.US_EQ, "x", T0 + timedelta(days=N + 10))
        assert report_fingerprint(full) != report_fingerprint(early)
        report_id = save_report(store, early)
        assert save_report(store, early) == report_id  # upsert by key
        listed = list_reports(store, "x")
    assert [r["id"] for r in listed] == [report_id]
    assert "Kronos US_EQ x" in listed[0]["summary"]
    assert json.dumps(listed[0]["summary"])
