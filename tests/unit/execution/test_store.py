"""Execution rows in the runtime store (SQLite and PostgreSQL); a resend after a crash is recognised."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from prometheus.core.types import Market
from prometheus.execution import (
    AccountView,
    BacktestBroker,
    OrderPlanner,
    OrderStatus,
    OrderType,
    PlannerConfig,
    PlanningInput,
    Quote,
    RiskGate,
    SimulatorConfig,
    TradingState,
)
from prometheus.execution.store import ExecutionContext, ExecutionStore
from prometheus.runtime import RuntimeStore
from tests.support.execution_kit import T0, flat_panel, make_order, open_limits
from tests.support.fixtures import runtime_db_url  # noqa: F401  (fixture)


@pytest.fixture
def xstore(runtime_db_url: str) -> Iterator[ExecutionStore]:  # noqa: F811
    store = RuntimeStore(runtime_db_url)
    store.upgrade()
    yield ExecutionStore(store, ExecutionContext(Market.US_EQ, "exp-1", "c" * 64))
    store.close()


def _planned(panel, broker: BacktestBroker):
    planner = OrderPlanner(PlannerConfig(order_type=OrderType.MOC, max_participation=None))
    day = panel.sessions[0]
    return planner.plan(
        PlanningInput(
            "exp-1",
            day,
            panel.instruments,
            np.array([0.5, 0.3]),
            broker.position_vector(),
            panel.close[0],
            broker.equity_at(day),
        )
    )


def test_save_when_orders_filled_round_trips_orders_events_fills_account(xstore: ExecutionStore) -> None:
    panel = flat_panel(3, ["AAA", "BBB"])
    broker = BacktestBroker(panel, SimulatorConfig(costs=None), 100_000.0)
    orders = broker.submit_many(_planned(panel, broker))
    broker.advance_to(panel.sessions[0])
    xstore.save_orders(orders, T0)
    xstore.save_orders(orders, T0)  # idempotent
    xstore.save_fills(broker.fills(), T0)
    xstore.save_account(panel.sessions[0], broker.positions(), broker.cash(), T0, equity=100_000.0)
    loaded = xstore.load_order(orders[0].ref)
    assert loaded is not None
    assert loaded.status is OrderStatus.FILLED
    assert loaded.filled_quantity == orders[0].quantity
    assert [e.kind for e in loaded.events] == [e.kind for e in orders[0].events]
    with xstore.store.engine.connect() as conn:
        counts = {t: conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar() for t in ("orders", "fills")}
        bal = conn.exec_driver_sql("SELECT balance FROM cash").scalar()
        n_pos = conn.exec_driver_sql("SELECT COUNT(*) FROM positions").scalar()
    assert counts == {"orders": 2, "fills": 2}
    assert bal == pytest.approx(20_000.0)
    assert n_pos == 2


def test_resend_when_process_restarts_recognises_refs_and_never_doubles(xstore: ExecutionStore) -> None:
    panel = flat_panel(3, ["AAA", "BBB"])
    first = BacktestBroker(panel, SimulatorConfig(costs=None), 100_000.0)
    sent = first.submit_many(_planned(panel, first))
    xstore.save_orders(sent, T0)
    # "Crash": a fresh broker and planner plan the same session again.
    second = BacktestBroker(panel, SimulatorConfig(costs=None), 100_000.0)
    again = _planned(panel, second)
    known = xstore.known_refs(o.ref for o in again)
    assert known == {o.ref for o in sent}
    assert [o for o in again if o.ref not in known] == []
    assert first.submit(again[0]) is sent[0]  # the broker also de-duplicates by ref
    assert len(first.open_orders()) == 2


def test_record_rejections_when_gate_rejects_persists_rule_and_reason(xstore: ExecutionStore) -> None:
    gate = RiskGate(open_limits(max_order_notional=1_000.0), lambda: TradingState.ACTIVE, xstore)
    gate.check([make_order(quantity=20)], AccountView(1e6, {}, {"AAA": Quote(100.0, T0)}), T0)
    rows = xstore.rejections()
    assert [(r["rule"], r["code"]) for r in rows] == [("order_notional", "MAX_ORDER_NOTIONAL")]
    assert rows[0]["details"] == {"notional": 2000.0, "limit": 1000.0}
    assert "2,000.00" in rows[0]["message"]
