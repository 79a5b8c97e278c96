"""Crash safety of ``prometheus execute`` (issue 20 item 6): SIGKILL mid-session, restart, nothing twice.

The command runs in its own process (tests.support.execute_worker) against the fake IB Gateway in this process
and a PostgreSQL runtime store; the test kills it with SIGKILL (a) after IB received its orders but before any
acknowledgement reached it, and (b) between two partial fills, then runs it again for the same session. Checked
at the gateway and in the store: one order per orderRef, every execution recorded once, positions equal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from prometheus.core.types import Market
from prometheus.execution.live import LIVE_EXPERIMENT, ExecuteConfig
from prometheus.execution.store import ExecutionContext, ExecutionStore
from prometheus.execution.types import OrderRef, OrderStatus
from prometheus.runtime import RuntimeStore
from tests.support.fake_ib_gateway import Behaviour, FakeIbGateway
from tests.support.live_kit import gateway, gateway_positions, orders_per_ref, paper_env, write_limits, write_targets

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[3]
PLACE_ORDER = 3  # TWS API message id of placeOrder
# The session the operator executes: today in New York (a NEW record of an ended session would be closed).
TODAY = datetime.now(ZoneInfo("America/New_York")).date()


@dataclass
class Harness:
    gw: FakeIbGateway
    env: dict[str, str]
    targets: Path
    store: ExecutionStore

    def start(self, wait: float) -> subprocess.Popen[str]:
        args = ["--market", "US_EQ", "--session", TODAY.isoformat(), "--targets", str(self.targets), "--wait",
                str(wait), "--order-type", "MARKET"]  # fmt: skip
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.execute_worker", *args],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def run(self, wait: float) -> str:
        proc = self.start(wait)
        out, _ = proc.communicate(timeout=90)
        assert proc.returncode == 0, out
        return out

    def kill(self, proc: subprocess.Popen[str]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        _until(lambda: not self.gw.client_ids, "the gateway to see the killed client go")

    def assert_consistent(self) -> None:
        """One order per orderRef at IB; each IB execution one fill row; stored positions = IB's."""
        assert set(orders_per_ref(self.gw).values()) == {1}, orders_per_ref(self.gw)
        rows = self.store.fill_rows(TODAY)
        executions = sorted((e.order.order_ref, e.shares, e.price) for e in self.gw.executions)
        assert sorted((r["order_ref"], r["quantity"], r["price"]) for r in rows) == executions
        for ref in {r["order_ref"] for r in rows}:
            assert [r["seq"] for r in rows if r["order_ref"] == ref] == list(range(sum(
                r["order_ref"] == ref for r in rows)))  # fmt: skip
        account = self.store.account(TODAY)
        assert account is not None
        assert {n: p.quantity for n, p in account.positions.items()} == gateway_positions(self.gw)


def _until(done: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def harness(pg_url: str, tmp_path: Path) -> Iterator[Harness]:
    runtime = RuntimeStore(pg_url)
    runtime.upgrade()
    store = ExecutionStore(runtime, ExecutionContext(Market.US_EQ, LIVE_EXPERIMENT, ExecuteConfig().config_version))
    limits = write_limits(tmp_path / "limits.yaml")
    targets = write_targets(tmp_path / "targets.csv", {"AAA": 0.2, "BBB": 0.1})
    with gateway(AAA=Behaviour.PARTIAL, BBB=Behaviour.FILL) as gw:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")}
        env |= paper_env(gw.port, pg_url, limits, tmp_path / "data")
        yield Harness(gw, env, targets, store)
    runtime.close()


def test_execute_when_killed_between_submit_and_ack_restart_sends_nothing_twice(harness: Harness) -> None:
    gw = harness.gw
    held: list[tuple[object, list[str]]] = []
    lock = threading.Lock()

    def hold(session: object, fields: list[str]) -> None:  # IB got the order; no acknowledgement goes back
        with lock:
            held.append((session, fields))

    gw.extra_handlers[PLACE_ORDER] = hold
    proc = harness.start(wait=60)
    _until(lambda: len(held) >= 1, "the first placeOrder at the gateway")
    harness.kill(proc)
    # The stored rows say the orders were sent (or are still NEW), never that IB acknowledged them.
    assert all(o.status in (OrderStatus.NEW, OrderStatus.SUBMITTED) for o in harness.store.working_orders())
    del gw.extra_handlers[PLACE_ORDER]
    for session, fields in held:  # IB processes what it received; the acknowledgement finds a dead socket
        with suppress(OSError):
            gw._on_place_order(session, fields)  # noqa: SLF001 - the fake's own handler, run late on purpose
    gw.set_behaviour("AAA", Behaviour.FILL)
    for order in list(gw.orders.values()):  # both fill while no process watches
        gw.fill(order.order_ref)

    out = harness.run(wait=5)
    assert "sent 0," in out, out
    assert "settled" in out, out
    harness.assert_consistent()
    assert gateway_positions(gw) == {"AAA": 400.0, "BBB": 500.0}
    statuses = harness.store.order_statuses(OrderRef(r) for r in orders_per_ref(gw))
    assert set(statuses.values()) == {OrderStatus.FILLED}


def test_execute_when_killed_between_partial_fills_restart_records_each_fill_once(harness: Harness) -> None:
    gw = harness.gw
    proc = harness.start(wait=60)
    # AAA fills 200 of 400 at once and keeps working; wait until that partial fill is in the store.
    _until(lambda: len(harness.store.fill_rows(TODAY)) == 2, "both first fills in the store")
    harness.kill(proc)
    aaa = gw.order_by_ref(next(r["order_ref"] for r in harness.store.fill_rows(TODAY) if r["instrument"] == "AAA"))
    gw.fill(aaa.order_ref, 50.0)  # a second partial fill and the rest while no process watches
    gw.fill(aaa.order_ref)

    out = harness.run(wait=5)
    assert "sent 0," in out, out
    assert "settled" in out, out
    harness.assert_consistent()
    assert [r["quantity"] for r in harness.store.fill_rows(TODAY) if r["order_ref"] == aaa.order_ref] == [200, 50, 150]
    assert gateway_positions(gw) == {"AAA": 400.0, "BBB": 500.0}
    assert harness.store.order_statuses([OrderRef(aaa.order_ref)]) == {OrderRef(aaa.order_ref): OrderStatus.FILLED}
