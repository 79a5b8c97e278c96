"""Fragility engine: the planted crowd is found before its unwind, future poisoning, tiny universes."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.engines import check_output
from prometheus.engines.fragility import (
    CLUSTER_PREFIX,
    FRAGILITY_SCHEMA,
    FragilityConfig,
    FragilityEngine,
    correlation,
    residual_returns,
)
from prometheus.engines.stability import PointInTimePanel

SMALL = FragilityConfig(beta_window=63, corr_window=42, amihud_short=10, amihud_long=63)


def _precision(frame: pl.DataFrame, day: date, crowd: set[str], k: int = 40) -> float:
    names = frame.filter((pl.col("session") == day) & ~pl.col("instrument").str.starts_with(CLUSTER_PREFIX))
    top = names.sort(["score", "instrument"], descending=[True, False]).head(k)["instrument"].to_list()
    return float(np.mean([s in crowd for s in top]))


@pytest.mark.slow
def test_crowd_when_building_up_is_ranked_and_flagged_before_unwind(fragility_history) -> None:
    h = fragility_history
    truth = h.market.truth.manifest["crowding"]
    crowd = set(truth["symbols"])
    sessions = list(h.market.sessions)
    start, unwind = (
        sessions.index(date.fromisoformat(truth["start"])),
        sessions.index(date.fromisoformat(truth["unwind_start"])),
    )
    run = sessions[start - 100 : unwind]
    ctx = h.context(run)
    result = FragilityEngine(FragilityConfig()).run(h.view(ctx), ctx, {})
    check_output("fragility", result.frame, FRAGILITY_SCHEMA)
    precision = {unwind - sessions.index(d): _precision(result.frame, d, crowd) for d in run[-40:]}
    lead = next(k for k in range(1, 41) if precision[k] < 0.5) - 1  # sessions before the unwind
    flags = {d.session: d.payload["flagged"] for d in result.decisions}
    pre = [flags[d] for d in run[:100]]
    false_share = float(np.mean([len(f) > 0 for f in pre]))
    print(f"crowd {len(crowd)} names: precision@40 {precision[10]:.2f} at 10 sessions before the unwind, held >= 0.5"
          f" for the last {lead} sessions; pre-crowd sessions flagged: {false_share:.2f}")  # fmt: skip
    assert precision[10] >= 0.5
    assert lead >= 10
    flagged_at_10 = flags[run[-10]]
    assert flagged_at_10
    assert np.mean([s in crowd for s in flagged_at_10[0]["members"]]) >= 0.9
    assert false_share < 0.6


def test_random_clusters_when_crowd_size_stay_near_zero_correlation(fragility_history) -> None:
    h = fragility_history
    cfg = FragilityConfig()
    days = [h.market.sessions[i] for i in (300, 500, 700, 900)]
    ctx = h.context(days)
    history = get_calendar().sessions(Market.US_EQ, h.market.sessions[150], days[-1])
    rng = np.random.default_rng(0)
    flagged, averages = 0, []
    for w in PointInTimePanel(h.view(ctx), Market.US_EQ, days, ctx.decision_times, history, cfg.data_window):
        ok = w.complete(cfg.data_window)
        corr = correlation(residual_returns(w.returns[:, ok], w.sectors[ok], cfg))
        for _ in range(50):
            pick = rng.choice(len(corr), size=40, replace=False)
            avg = (corr[np.ix_(pick, pick)].sum() - 40) / (40 * 39)
            averages.append(avg)
            flagged += avg >= cfg.flag_correlation
    print(f"random 40-name clusters: mean residual corr {np.mean(averages):.4f}, flag rate {flagged / 200:.3f}")
    assert abs(np.mean(averages)) < 0.02
    assert flagged == 0


@pytest.mark.slow
def test_outputs_when_every_input_after_d_is_poisoned_are_unchanged_up_to_d(fragility_history, poison,
                                                                            monkeypatch) -> None:  # fmt: skip
    h = fragility_history
    sessions = list(h.market.sessions[150:420])
    d_index = 15
    ctx = h.context(sessions)
    d, cutoff = sessions[d_index], ctx.decision_times[d_index]
    bad = poison(h.snapshot, cutoff, d)
    engine = FragilityEngine(SMALL)
    clean = engine.run(h.view(ctx), ctx, {}).frame
    dirty = engine.run(h.view(ctx, bad), ctx, {}).frame
    assert len(sessions) - d_index > 250
    before = pl.col("session") <= d
    assert clean.filter(before).height > 0
    assert clean.filter(before).equals(dirty.filter(before))  # every column, bit for bit
    assert not clean.filter(~before).equals(dirty.filter(~before))
    # The test can fail: a view that never moves back (look-ahead) lets the late rows through.
    monkeypatch.setattr(TimeMachine, "at", lambda self, t: self)
    leaky = engine.run(h.view(ctx, bad), ctx, {}).frame
    assert not clean.filter(before).equals(leaky.filter(before))


def test_run_when_universe_is_two_series_degrades_with_a_note(fragility_history) -> None:
    h = fragility_history
    tables = h.snapshot.tables
    keep = sorted(set(tables[next(iter(tables))]["symbol"].to_list()))[:2]
    small = HistorySnapshot(
        h.snapshot.known_until, {k: v.filter(pl.col("symbol").is_in(keep)) for k, v in tables.items()}
    )
    ctx = h.context(list(h.market.sessions[400:410]))
    result = FragilityEngine(SMALL).run(h.view(ctx, small), ctx, {})
    assert result.frame.is_empty()
    assert "fewer than 20 names" in result.notes[0]
    check_output("fragility", result.frame, FRAGILITY_SCHEMA)
