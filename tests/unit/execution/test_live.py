"""execute_session against the fake IB Gateway (ib_async on a real socket) and a PostgreSQL runtime store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.execution import IbBroker, IbConfig, OrderStatus, Quote, RejectReason, RiskGate, RiskLimits
from prometheus.execution.kill_switch import KillSwitch
from prometheus.execution.live import (
    LIVE_EXPERIMENT,
    ExecuteConfig,
    SessionRequest,
    execute_session,
    load_session_targets,
    price_sources,
    read_targets_csv,
    trip_on_losses,
)
from prometheus.execution.store import ExecutionContext, ExecutionStore
from prometheus.execution.types import TradingState
from prometheus.runtime import RuntimeStore
from prometheus.runtime.tables.engine import target_portfolios
from tests.support.fake_ib_gateway import Behaviour, FakeIbGateway
from tests.support.live_kit import gateway, gateway_positions, orders_per_ref, write_limits, write_targets

pytestmark = pytest.mark.postgres
SESSION = date(2024, 3, 1)
FAST = ExecuteConfig(wait_s=3.0, poll_s=0.1)


@dataclass
class Rig:
    gw: FakeIbGateway
    broker: IbBroker
    runtime: RuntimeStore
    store: ExecutionStore
    switch: KillSwitch
    limits: RiskLimits

    def run(self, targets: dict[str, float], config: ExecuteConfig = FAST, **closes: Quote):
        gate = RiskGate(self.limits, self.switch, recorder=self.store)
        request = SessionRequest(SESSION, targets, "test", closes)
        return execute_session(self.broker, self.store, gate, request, config)

    def reconnect(self) -> None:
        """A new process: a fresh broker on the same client id, reconciling with the store on connect."""
        self.broker.disconnect()
        self.broker = connect(self.gw, self.store, self.switch)


def connect(gw: FakeIbGateway, store: ExecutionStore, switch: KillSwitch) -> IbBroker:
    # The gateway frees a client id once it has seen the previous socket close.
    deadline = time.monotonic() + 3.0
    while 5 in gw.client_ids and time.monotonic() < deadline:
        time.sleep(0.01)
    config = IbConfig(port=gw.port, client_id=5, connect_timeout_s=2.0)
    broker = IbBroker(config, kill_switch=switch, order_source=store.working_orders, known_refs=store.known_refs)
    broker.connect()
    return broker


@pytest.fixture
def rig(pg_url: str, tmp_path: Path) -> Iterator[Rig]:
    runtime = RuntimeStore(pg_url)
    runtime.upgrade()
    switch = KillSwitch(runtime)
    store = ExecutionStore(runtime, ExecutionContext(Market.US_EQ, LIVE_EXPERIMENT, FAST.config_version))
    limits = RiskLimits.from_yaml(write_limits(tmp_path / "limits.yaml"))
    with gateway(DDD=Behaviour.REST) as gw:
        r = Rig(gw, connect(gw, store, switch), runtime, store, switch, limits)
        yield r
        r.broker.disconnect()
    runtime.close()


def test_execute_when_targets_fill_records_orders_fills_and_account_once(rig: Rig) -> None:
    summary = rig.run({"AAA": 0.2, "BBB": 0.1})
    assert summary.settled, summary.lines()
    assert (len(summary.sent), summary.rejected, summary.errors) == (2, (), ())
    assert gateway_positions(rig.gw) == {"AAA": 400.0, "BBB": 500.0}  # 20 000 / 50, 10 000 / 20
    assert set(orders_per_ref(rig.gw).values()) == {1}
    fills = rig.store.fill_rows(SESSION)
    assert sorted((f["instrument"], f["quantity"], f["seq"]) for f in fills) == [("AAA", 400.0, 0), ("BBB", 500.0, 0)]
    assert all(f["commission"] > 0 for f in fills)  # from IB's commission reports
    account = rig.store.account(SESSION)
    assert account is not None
    assert {n: p.quantity for n, p in account.positions.items()} == gateway_positions(rig.gw)
    assert account.cash == pytest.approx(rig.gw.cash)
    assert summary.price_sources == {"AAA": "snapshot", "BBB": "snapshot"}


def test_execute_when_run_twice_for_the_session_sends_nothing_the_second_time(rig: Rig) -> None:
    short = ExecuteConfig(wait_s=0.5, poll_s=0.1)
    first = rig.run({"AAA": 0.2, "DDD": 0.1}, short)  # DDD rests at the gateway
    placed = len(rig.gw.orders)
    rig.reconnect()
    second = rig.run({"AAA": 0.2, "DDD": 0.1}, short)
    assert len(first.sent) == 2
    assert (second.sent, len(rig.gw.orders)) == ((), placed)
    working = [r for r, s in first.statuses.items() if s is OrderStatus.SUBMITTED]
    assert len(working) == 1
    assert second.statuses[working[0]] is OrderStatus.SUBMITTED  # re-linked, still resting
    assert second.foreign == ()
    assert len(rig.store.fill_rows(SESSION)) == 1


def test_execute_when_fill_arrives_while_away_records_it_once_on_the_next_run(rig: Rig) -> None:
    first = rig.run({"DDD": 0.2}, ExecuteConfig(wait_s=0.2, poll_s=0.1))
    (ref,) = first.sent
    rig.broker.disconnect()
    rig.gw.fill(ref.value, 200.0)  # while no process watches
    rig.broker = connect(rig.gw, rig.store, rig.switch)
    second = rig.run({"DDD": 0.2}, ExecuteConfig(wait_s=0.5, poll_s=0.1))
    rig.gw.fill(ref.value)  # the rest, while the next run watches
    rig.reconnect()
    third = rig.run({"DDD": 0.2}, ExecuteConfig(wait_s=1.0, poll_s=0.1))
    assert (second.sent, third.sent) == ((), ())
    assert third.statuses[ref] is OrderStatus.FILLED
    rows = rig.store.fill_rows(SESSION)
    assert [(r["seq"], r["quantity"]) for r in rows] == [(0, 200.0), (1, 300.0)]
    assert sum(r["quantity"] for r in rows) == gateway_positions(rig.gw)["DDD"]


def test_execute_when_halted_rejects_and_sends_nothing(rig: Rig) -> None:
    rig.switch.set(TradingState.HALTED, "drill", "test")
    summary = rig.run({"AAA": 0.2})
    assert summary.sent == ()
    assert [r.rejection.code for r in summary.rejected] == [RejectReason.KILL_SWITCH_HALTED]
    assert [r["code"] for r in rig.store.rejections()] == ["KILL_SWITCH_HALTED"]
    assert rig.gw.orders == {}


def test_execute_when_no_quote_and_stale_close_is_refused_by_the_gate(rig: Rig) -> None:
    now = datetime.now(UTC)
    fresh, stale = Quote(9.0, now - timedelta(hours=2)), Quote(9.0, now - timedelta(days=5))
    rig.limits = rig.limits.model_copy(update={"max_quote_age_seconds": 4 * 3600.0})
    assert price_sources({}, {"X": fresh}, now, 36 * 3600)[2] == {"X": "last close"}
    summary = rig.run({"ZZZ": 0.1}, ZZZ=stale)  # the gateway knows no ZZZ: no snapshot quote
    assert summary.price_sources == {"ZZZ": "stale close (refused)"}
    assert [r.rejection.code for r in summary.rejected] == [RejectReason.NO_TRUSTED_PRICE]
    assert rig.gw.orders == {}


def test_load_session_targets_when_portfolio_ran_twice_takes_the_latest(rig: Rig) -> None:
    t0 = datetime(2024, 3, 1, 21, 5, tzinfo=UTC)
    rows = [{"market": "US_EQ", "session": SESSION, "decision_time": t, "experiment": LIVE_EXPERIMENT,
             "config_version": v, "instrument": n, "weight": w}
            for t, v, n, w in [(t0, "old", "AAA", 0.5), (t0 + timedelta(minutes=9), "new", "BBB", 0.3)]]  # fmt: skip
    rig.runtime.upsert(target_portfolios, rows)
    weights, source = load_session_targets(rig.runtime, Market.US_EQ, SESSION)
    assert weights == {"BBB": 0.3}
    assert "new" in source
    with pytest.raises(DataError, match="no target portfolio of US_EQ for 2024-03-04.*--targets"):
        load_session_targets(rig.runtime, Market.US_EQ, date(2024, 3, 4))


def test_read_targets_csv_when_bad_rows_names_file_row_and_field(tmp_path: Path) -> None:
    good = write_targets(tmp_path / "t.csv", {"AAA": 0.25, "BBB": -0.1})
    assert read_targets_csv(good) == {"AAA": 0.25, "BBB": -0.1}
    (tmp_path / "bad.csv").write_text("symbol,weight\nAAA,0.1\nBBB,lots\n", encoding="utf-8")
    with pytest.raises(DataError, match="row 3.*'weight'.*not a number"):
        read_targets_csv(tmp_path / "bad.csv")
    (tmp_path / "dup.csv").write_text("symbol,weight\nAAA,0.1\nAAA,0.2\n", encoding="utf-8")
    with pytest.raises(DataError, match="row 3.*AAA appears twice"):
        read_targets_csv(tmp_path / "dup.csv")
    (tmp_path / "head.csv").write_text("ticker,w\nAAA,0.1\n", encoding="utf-8")
    with pytest.raises(DataError, match="symbol,weight"):
        read_targets_csv(tmp_path / "head.csv")


def test_trip_on_losses_when_drawdown_beyond_the_limit_halts_and_nothing_is_sent(rig: Rig) -> None:
    peak = rig.gw.cash / 0.4  # net liquidation is 60 % below this earlier snapshot's equity (limit 50 %)
    rig.store.save_account(SESSION - timedelta(days=1), {}, peak, datetime(2024, 2, 29, 22, tzinfo=UTC), peak)
    change = trip_on_losses(rig.broker, rig.store, rig.switch, rig.limits, SESSION)
    assert change is not None
    assert (change.state, rig.switch.state()) == (TradingState.HALTED, TradingState.HALTED)
    assert "drawdown 60.00%" in change.reason
    assert rig.run({"AAA": 0.1}).sent == ()
    assert trip_on_losses(rig.broker, rig.store, rig.switch, rig.limits, SESSION) is None  # already HALTED


def test_trip_on_losses_when_no_snapshot_or_within_limits_leaves_the_switch(rig: Rig) -> None:
    assert trip_on_losses(rig.broker, rig.store, rig.switch, rig.limits, SESSION) is None
    rig.store.save_account(SESSION - timedelta(days=1), {}, 0.0, datetime(2024, 2, 29, 22, tzinfo=UTC), 105_000.0)
    assert trip_on_losses(rig.broker, rig.store, rig.switch, rig.limits, SESSION) is None
    assert rig.switch.state() is TradingState.ACTIVE
