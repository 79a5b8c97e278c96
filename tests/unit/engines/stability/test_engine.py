"""Stability engine: future poisoning, degradation on tiny universes, config checks.

The synthetic validation (pooled over ten seeds, relative to the oracle) is tests/unit/engines/test_validation.py.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from prometheus.data.timemachine import TimeMachine
from prometheus.engines import check_output
from prometheus.engines.stability import STABILITY_SPEC, StabilityConfig, StabilityEngine

#: Short windows keep the poisoning runs fast; the maths is the same as with the defaults.
SMALL = StabilityConfig(ar_window=40, delta_short=5, delta_long=40, turbulence_window=40, corr_window=21,
                        norm_window=40, score_window=40, min_history=20)  # fmt: skip


def _run(engine: StabilityEngine, view: TimeMachine, ctx) -> pl.DataFrame:
    return engine.run(view, ctx, {}).frame


@pytest.mark.slow
def test_outputs_when_every_input_after_d_is_poisoned_are_unchanged_up_to_d(stability_history, poison,
                                                                            monkeypatch) -> None:  # fmt: skip
    h = stability_history
    sessions = list(h.market.sessions[200:480])
    d_index = 25
    ctx = h.context(sessions)
    d, cutoff = sessions[d_index], ctx.decision_times[d_index]
    bad = poison(h.snapshot, cutoff, d)
    engine = StabilityEngine(SMALL)
    clean, dirty = _run(engine, h.view(ctx), ctx), _run(engine, h.view(ctx, bad), ctx)
    assert len(sessions) - d_index > 250
    before = pl.col("session") <= d
    assert clean.filter(before).height > 0
    assert clean.filter(before).equals(dirty.filter(before))  # every column, bit for bit
    assert not clean.filter(~before).equals(dirty.filter(~before))  # the poison did reach later sessions
    # The test can fail: a view that never moves back (look-ahead) lets the late rows through.
    monkeypatch.setattr(TimeMachine, "at", lambda self, t: self)
    leaky = _run(engine, h.view(ctx, bad), ctx)
    assert not clean.filter(before).equals(leaky.filter(before))


def test_run_when_universe_is_two_series_degrades_with_a_note(stability_history) -> None:
    h = stability_history
    two = h.snapshot.tables
    keep = sorted(set(two[next(iter(two))]["symbol"].to_list()))[:2]
    from prometheus.data.timemachine import HistorySnapshot

    small = HistorySnapshot(h.snapshot.known_until, {k: v.filter(pl.col("symbol").is_in(keep)) for k, v in two.items()})
    ctx = h.context(list(h.market.sessions[400:420]))
    result = StabilityEngine(SMALL).run(h.view(ctx, small), ctx, {})
    assert result.frame.is_empty()
    assert result.decisions == ()
    assert "fewer than 10 names" in result.notes[0]
    check_output(STABILITY_SPEC, result.frame)


def test_config_when_windows_inconsistent_is_a_config_error() -> None:
    from prometheus.core.errors import ConfigError

    with pytest.raises(ConfigError, match="delta_short"):
        StabilityConfig(delta_short=300)
    # Turbulence is smoothed over 10 sessions before it is z-scored: 9 more sessions of warm-up.
    assert StabilityConfig().lookback_sessions == 253 + 252 + 756 + 9
    assert np.isfinite(StabilityConfig().ar_fraction)
