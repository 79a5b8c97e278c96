"""ib_session and execute_targets against the fake IB Gateway (ib_async on a real socket), SQLite runtime store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.store import HistoricalStore
from prometheus.execution import IbConfig, RiskLimits
from prometheus.execution.live import ExecuteConfig
from prometheus.execution.types import RejectReason, TradingState
from prometheus.orchestration import execute_targets, ib_session, list_alerts
from prometheus.runtime import RuntimeStore
from prometheus.runtime.enums import AlertSeverity
from tests.support.fake_ib_gateway import FakeIbGateway
from tests.support.live_kit import gateway, gateway_positions, orders_per_ref, write_limits

SESSION = date(2024, 3, 4)
QUICK = ExecuteConfig(wait_s=3.0, poll_s=0.1)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[RuntimeStore]:
    store = RuntimeStore(f"sqlite:///{tmp_path / 'runtime.sqlite'}")
    store.upgrade()
    yield store
    store.close()


@pytest.fixture
def gw() -> Iterator[FakeIbGateway]:
    with gateway(cash=100_000.0) as fake:
        yield fake


def _config(gw: FakeIbGateway) -> IbConfig:
    return IbConfig(port=gw.port, client_id=21, connect_timeout_s=2.0)


def test_execute_targets_when_a_foreign_order_rests_at_ib_alerts_it_and_sends_the_targets_once(
    gw: FakeIbGateway, runtime: RuntimeStore, tmp_path: Path
) -> None:
    foreign = gw.place_foreign("CCC", "BUY", 10, limit_price=9.0)  # typed in TWS, not ours
    limits = RiskLimits.from_yaml(write_limits(tmp_path / "limits.yaml"))
    lake = HistoricalStore(tmp_path / "lake")  # empty: prices come from IB's snapshot quotes
    with ib_session(_config(gw), runtime, Market.US_EQ, QUICK.planner.config_version) as ib:
        done = execute_targets(ib, lake, get_calendar(), limits, SESSION, QUICK, ({"AAA": 0.2}, "test"))
    assert done.tripped is None
    assert (len(done.summary.sent), done.summary.fills, done.summary.settled) == (1, 1, True)
    assert gateway_positions(gw) == {"AAA": 400.0}  # 20 000 / 50
    (alert,) = list_alerts(runtime)
    assert (alert.severity, alert.source, alert.details["perm_id"]) == (AlertSeverity.WARNING, "broker",
                                                                         foreign.perm_id)  # fmt: skip
    with ib_session(_config(gw), runtime, Market.US_EQ, QUICK.planner.config_version) as ib:
        again = execute_targets(ib, lake, get_calendar(), limits, SESSION, QUICK, ({"AAA": 0.2}, "test"))
    assert again.summary.sent == ()
    assert {ref: n for ref, n in orders_per_ref(gw).items() if ref} == {done.summary.sent[0].value: 1}


def test_execute_targets_when_the_drawdown_limit_is_breached_halts_before_planning_and_sends_nothing(
    gw: FakeIbGateway, runtime: RuntimeStore, tmp_path: Path
) -> None:
    limits = RiskLimits.from_yaml(write_limits(tmp_path / "limits.yaml"))
    lake = HistoricalStore(tmp_path / "lake")
    with ib_session(_config(gw), runtime, Market.US_EQ, QUICK.planner.config_version) as ib:
        peak = gw.cash / 0.4  # net liquidation is 60 % below this earlier snapshot's equity (limit 50 %)
        ib.execution.save_account(SESSION - timedelta(days=3), {}, peak, datetime(2024, 3, 1, 22, tzinfo=UTC), peak)
        done = execute_targets(ib, lake, get_calendar(), limits, SESSION, QUICK, ({"AAA": 0.2}, "test"))
        state = ib.kill_switch.state()
    assert done.tripped is not None
    assert (done.tripped.state, state) == (TradingState.HALTED, TradingState.HALTED)
    assert done.summary.sent == ()
    assert [r.rejection.code for r in done.summary.rejected] == [RejectReason.KILL_SWITCH_HALTED]
    assert gw.orders == {}
