"""Kill switch in risk_state: states, history, trips, and visibility from a second (spawned) process."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta

import pytest

from prometheus.execution import AccountView, Quote, RiskGate, TradingState
from prometheus.execution.kill_switch import KillSwitch, breach_reason
from prometheus.runtime import RuntimeStore
from tests.support.execution_kit import T0, child_read_state, child_set_state, make_order, open_limits
from tests.support.fixtures import runtime_db_url  # noqa: F401  (fixture)


@pytest.fixture
def store(runtime_db_url: str) -> Iterator[RuntimeStore]:  # noqa: F811
    s = RuntimeStore(runtime_db_url)
    s.upgrade()
    yield s
    s.close()


def _clock():
    ticks = iter(range(1000))
    return lambda: T0 + timedelta(seconds=next(ticks))


def test_state_when_no_row_is_active(store: RuntimeStore) -> None:
    assert KillSwitch(store).state() is TradingState.ACTIVE


@pytest.mark.parametrize("state", list(TradingState))
def test_set_when_state_written_reads_back_with_history(store: RuntimeStore, state: TradingState) -> None:
    switch = KillSwitch(store, clock=_clock())
    switch.set(TradingState.REDUCING, "first", "test")
    switch.set(state, "second", "test")
    assert switch.state() is state
    assert [(c.state, c.reason) for c in switch.history()] == [(state, "second"), (TradingState.REDUCING, "first")]
    assert switch.history()[0].set_at.tzinfo is not None


def test_scopes_when_one_halted_leave_other_active(store: RuntimeStore) -> None:
    KillSwitch(store, "acct-1").set(TradingState.HALTED, "x", "test")
    assert KillSwitch(store, "acct-2").state() is TradingState.ACTIVE


def test_second_process_when_state_set_here_sees_it(store: RuntimeStore) -> None:
    KillSwitch(store, "global").set(TradingState.HALTED, "stop", "test")
    # A spawned process (not a fork): it shares nothing with this one but the database.
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        seen = pool.submit(child_read_state, store.url, "global").result(timeout=120)
    assert seen == "HALTED"


def test_second_process_when_it_sets_state_this_gate_sees_it(store: RuntimeStore) -> None:
    switch = KillSwitch(store, "global")
    gate = RiskGate(open_limits(), switch)
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        assert pool.submit(child_set_state, store.url, "global", "REDUCING").result(timeout=120) == "REDUCING"
    assert switch.state() is TradingState.REDUCING
    result = gate.check([make_order(quantity=1)], AccountView(1e6, {}, {"AAA": Quote(100.0, T0)}), T0)
    assert result.rejected[0].rejection.code.value == "KILL_SWITCH_REDUCING"


@pytest.mark.parametrize(
    ("equity", "peak", "day_start", "expected"),
    [
        (80.01, 100.0, 80.0, ""),
        (79.99, 100.0, 80.0, "drawdown"),
        (95.01, 96.0, 100.0, ""),
        (94.99, 96.0, 100.0, "daily loss"),
    ],
)
def test_breach_reason_when_loss_around_limits(equity, peak, day_start, expected) -> None:
    limits = open_limits(max_drawdown=0.2, max_daily_loss=0.05)
    reason = breach_reason(limits, equity, peak, day_start)
    assert reason.startswith(expected) if expected else reason == ""


def test_trip_when_drawdown_breached_sets_breach_state_once(store: RuntimeStore) -> None:
    switch = KillSwitch(store, clock=_clock())
    limits = open_limits(max_drawdown=0.1, breach_state=TradingState.REDUCING)
    assert switch.trip_if_breached(limits, 95.0, 100.0, 95.0) is None
    change = switch.trip_if_breached(limits, 89.0, 100.0, 95.0)
    assert change is not None
    assert change.state is TradingState.REDUCING
    assert switch.trip_if_breached(limits, 80.0, 100.0, 95.0) is None  # already there: no new row
    assert len(switch.history()) == 1


def test_trip_when_already_halted_never_loosens(store: RuntimeStore) -> None:
    switch = KillSwitch(store, clock=_clock())
    switch.set(TradingState.HALTED, "manual", "test")
    limits = open_limits(max_daily_loss=0.01, breach_state=TradingState.REDUCING)
    assert switch.trip_if_breached(limits, 50.0, 100.0, 100.0) is None
    assert switch.state() is TradingState.HALTED
