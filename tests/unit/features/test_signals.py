"""Vendor signals point in time: each session sees the latest revision known at its own decision time, never later."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.calendar import get_calendar
from prometheus.core.errors import DataError, LookAheadError
from prometheus.core.types import Market
from prometheus.data.ingest import ingest_vendor
from prometheus.data.known_at import decision_times
from prometheus.data.schema import SIGNALS, Table
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig, generate_market, write_vendor_files
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.features.signals import point_in_time_signals

CAL = get_calendar()
M = Market.US_EQ
DELAY = timedelta(minutes=5)
D = CAL.sessions(M, "2024-03-04", "2024-03-08")
T = decision_times(CAL, M, D, DELAY)
MIN = timedelta(minutes=1)


def _close(k: int) -> datetime:
    return CAL.close_at(M, D[k])


#: (session index, symbol, signal, value, known_at)
ROWS = [
    (0, "AAA", "alpha", 1.0, _close(0) + MIN),  # known before D0's decision
    (0, "AAA", "alpha", 99.0, _close(0) + timedelta(hours=1)),  # revision after it: must not reach D0
    (1, "AAA", "alpha", 2.0, _close(1) + 30 * MIN),  # published after D1's decision: absent on D1
    (1, "AAA", "beta", 5.0, _close(1) + 2 * MIN),
    (1, "BBB", "alpha", 3.0, T[1]),  # known exactly at the decision time: usable
    (2, "BBB", "alpha", 4.0, _close(2) + MIN),
    (2, "BBB", "alpha", 4.5, _close(2) + 3 * MIN),  # a revision still before the decision: the later one wins
]


def _store(tmp_path: Path, rows: list[tuple[int, str, str, float, datetime]]) -> HistoricalStore:
    store = HistoricalStore(tmp_path / "lake")
    frame = pl.DataFrame(
        [
            {"market": M.value, "date": D[k], "symbol": s, "signal": n, "value": v, "known_at": t}
            for k, s, n, v, t in rows
        ]  # fmt: skip
    )
    store.merge(Table.SIGNALS, frame.cast(SIGNALS.dtypes))  # type: ignore[arg-type]
    return store


def _expected() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [D[0], D[1], D[1], D[2]],
            "symbol": ["AAA", "AAA", "BBB", "BBB"],
            "signal_alpha": [1.0, None, 3.0, 4.5],
            "signal_beta": [None, 5.0, None, None],
        },
        schema={"date": pl.Date, "symbol": pl.String, "signal_alpha": pl.Float64, "signal_beta": pl.Float64},
    )


def test_signals_when_revised_after_a_decision_serve_each_session_what_it_knew(tmp_path: Path) -> None:
    # The view is a week later than every decision: it serves the 99.0 revision and D1's late alpha, which must
    # not reach the sessions decided before them. Without the known_at <= decision-time filter the D0 row reads
    # 99.0 and the D1 row of AAA reads alpha 2.0, and this test fails.
    view = TimeMachine(_store(tmp_path, ROWS), T[-1] + timedelta(days=7))
    got = point_in_time_signals(view, M, D[:3], T[:3])
    assert_frame_equal(got, _expected())


def test_signals_when_future_is_poisoned_are_unchanged(tmp_path: Path) -> None:
    # Poison: for every fact, a revision 1 us after its session's decision time, and values for later sessions.
    facts = sorted({(k, s, n) for k, s, n, _, _ in ROWS})
    poison = [(k, s, n, 1e9, T[k] + timedelta(microseconds=1)) for k, s, n in facts]
    poison += [(3, "AAA", "alpha", 1e9, _close(3) + MIN), (2, "CCC", "gamma", 1e9, T[2] + MIN)]
    clean = TimeMachine(_store(tmp_path / "a", ROWS), T[2])
    poisoned = TimeMachine(_store(tmp_path / "b", ROWS + poison), T[-1] + timedelta(days=30))
    assert_frame_equal(point_in_time_signals(poisoned, M, D[:3], T[:3]), point_in_time_signals(clean, M, D[:3], T[:3]))
    assert_frame_equal(point_in_time_signals(clean, M, D[:3], T[:3]), _expected())


def test_signals_when_read_from_a_snapshot_match_the_lake(tmp_path: Path) -> None:
    store = _store(tmp_path, ROWS)
    snap = HistorySnapshot.load(store, [Table.SIGNALS], known_until=T[-1], market=M)
    got = point_in_time_signals(TimeMachine(snap, T[-1]), M, D[:3], T[:3])
    assert_frame_equal(got, point_in_time_signals(TimeMachine(store, T[-1]), M, D[:3], T[:3]))


def test_signals_when_decision_after_the_view_or_inputs_mismatched_raise(tmp_path: Path) -> None:
    view = TimeMachine(_store(tmp_path, ROWS), T[1])
    with pytest.raises(LookAheadError):
        point_in_time_signals(view, M, D[:3], T[:3])
    with pytest.raises(DataError, match="one decision time per session"):
        point_in_time_signals(view, M, D[:2], T[:1])
    with pytest.raises(DataError, match="twice"):
        point_in_time_signals(view, M, [D[0], D[0]], [T[0], T[0]])
    assert point_in_time_signals(view, M, [], []).columns == ["date", "symbol"]


def test_synthetic_signals_when_ingested_reach_the_next_decision_not_their_own(tmp_path: Path) -> None:
    market = generate_market(SyntheticConfig(n_names=20, years=1, seed=9))
    directory = tmp_path / "vendor"
    write_vendor_files(market, directory)
    store = HistoricalStore(tmp_path / "lake")
    ingest_vendor(store, directory, M, bar_delay=DELAY, calendar=CAL)
    days = list(market.sessions[:30])
    times = decision_times(CAL, M, days, DELAY)
    view = TimeMachine(store, times[-1])
    # Published 30 minutes after the close: nothing is known when the session itself is decided ...
    assert point_in_time_signals(view, M, days, times).is_empty()
    # ... and every value is known at the next session's decision.
    got = point_in_time_signals(view, M, days[:-1], times[1:])
    assert got.columns == ["date", "symbol", "signal_alpha_feature", "signal_noise_1", "signal_noise_2",
                           "signal_noise_3"]  # fmt: skip
    truth = market.signals.filter(pl.col("date").is_in(days[:-1])).pivot(
        on="signal", index=["date", "symbol"], values="value"
    )
    truth = truth.rename({c: f"signal_{c}" for c in truth.columns if c not in ("date", "symbol")})
    assert_frame_equal(got, truth.select(got.columns).sort("date", "symbol"))
    # The delivered feature is the generator's observable alpha copy, rounded to 4 decimals.
    planted = market.truth.signals.filter(pl.col("date").is_in(days[:-1])).sort("date", "symbol")
    gap = (got["signal_alpha_feature"] - planted["alpha_feature"].cast(pl.Float64)).abs().max()
    assert gap is not None
    assert gap <= 5e-5 + 1e-7
