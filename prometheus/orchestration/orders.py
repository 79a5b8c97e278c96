"""Orders for the open, at IB: a connected broker wired to the runtime store, and one session's execution.

Shared by the operator's ``prometheus execute`` and the code location's ``<m>_submit_orders_job``: both connect the
same way (kill switch, execution store as the reconciliation's order source, broker alerts) and execute a
session's targets the same way (loss limits first, last closes as fallback prices, the RiskGate, de-duplication by
``order_ref``), so a job run and an operator's run of the same session never send an order twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from prometheus.calendar import TradingCalendar
from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.data.store import HistoricalStore
from prometheus.execution.brokers.ib import ForeignOrder, IbBroker, IbConfig
from prometheus.execution.kill_switch import KillSwitch, StateChange
from prometheus.execution.live import (
    LIVE_EXPERIMENT,
    ExecuteConfig,
    ExecutionSummary,
    SessionRequest,
    execute_session,
    last_close_quotes,
    load_session_targets,
    trip_on_losses,
)
from prometheus.execution.risk_gate import RiskGate
from prometheus.execution.risk_limits import RiskLimits
from prometheus.execution.store import ExecutionContext, ExecutionStore
from prometheus.orchestration.alerts import Alerter, AlertSource, NewAlert
from prometheus.orchestration.sources import BrokerAlerts
from prometheus.runtime.enums import AlertSeverity
from prometheus.runtime.store import RuntimeStore


@dataclass
class IbSession:
    """A connected broker with the runtime store, kill switch and execution store it records into."""

    broker: IbBroker
    runtime: RuntimeStore
    kill_switch: KillSwitch
    execution: ExecutionStore
    alerter: Alerter


@contextmanager
def ib_session(
    config: IbConfig,
    runtime: RuntimeStore,
    market: Market,
    config_version: str,
    alert_webhook: str | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Iterator[IbSession]:
    """Connect to IB (account guard, reconciliation), record what the connect's reconciliation changed, disconnect
    afterwards. ``runtime`` must be migrated and stays open (the caller owns it).

    ``config_version`` goes on the execution rows written (the planner's: what shaped the orders).

    Raises
    ------
    BrokerError
        IB cannot be reached, refuses the client id, or the account fails the mode's guard.
    """
    # IB connectivity loss moves this switch to REDUCING, seen by every process, and raises an alert.
    switch = KillSwitch(runtime)
    execution = ExecutionStore(runtime, ExecutionContext(market, LIVE_EXPERIMENT, config_version))
    alerter = Alerter(runtime, alert_webhook, clock)
    # Reconciliation on every connect reads our working orders (and which refs we ever sent) from the store.
    broker = IbBroker(config, clock=clock, kill_switch=switch, order_source=execution.working_orders,
                      known_refs=execution.known_refs, on_connectivity=BrokerAlerts(alerter, "ib", market))  # fmt: skip
    broker.connect()
    try:
        report = broker.last_reconcile
        if report is not None:  # what the connect's reconciliation changed, recorded at once
            execution.record_execution(list(report.orders), broker.fills(), clock())
        yield IbSession(broker, runtime, switch, execution, alerter)
    finally:
        broker.disconnect()


def foreign_order_alerts(found: Iterable[object], market: Market) -> list[NewAlert]:
    """One WARNING alert (source ``broker``) per foreign order, by permId (orders at IB we did not send)."""
    foreign = {f.perm_id: f for f in found if isinstance(f, ForeignOrder)}
    return [
        NewAlert(AlertSeverity.WARNING, AlertSource.BROKER, f.describe(), market,
                 {"perm_id": f.perm_id, "client_id": f.client_id, "order_ref": f.order_ref,
                  "instrument": f.instrument, "action": f.action, "quantity": f.quantity, "status": f.ib_status,
                  "handled": f.handled.value})
        for f in foreign.values()
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class SessionOrders:
    """What :func:`execute_targets` did: the execution summary and the kill-switch move of the loss limits."""

    summary: ExecutionSummary
    tripped: StateChange | None


def execute_targets(
    ib: IbSession,
    historical: HistoricalStore,
    calendar: TradingCalendar,
    limits: RiskLimits,
    session: date,
    config: ExecuteConfig,
    targets: tuple[Mapping[str, float], str] | None = None,
) -> SessionOrders:
    """Execute ``session``'s target portfolio (``target_portfolios``, experiment ``live``; or ``targets`` as
    ``(weights, source)``) at ``ib``: loss limits first, then plan, gate, de-duplicate, send, wait, record.

    Raises
    ------
    DataError
        No target portfolio for the session (and no ``targets``), or a weight is not finite.
    BrokerError
        The broker lost its connection or reported no net liquidation value.
    """
    market = ib.execution.ctx.market
    if ib.broker.last_reconcile is not None:  # orders at IB we did not send, found when connecting
        ib.alerter.raise_all(foreign_order_alerts(ib.broker.last_reconcile.foreign, market))
    weights, source = targets if targets is not None else load_session_targets(ib.runtime, market, session)
    names = sorted(set(weights) | set(ib.broker.positions()))
    closes = last_close_quotes(historical, calendar, market, names, utc_now())
    # A drawdown or daily loss beyond the limits trips the switch before anything is planned.
    tripped = trip_on_losses(ib.broker, ib.execution, ib.kill_switch, limits, session)
    gate = RiskGate(limits, ib.kill_switch, recorder=ib.execution)
    summary = execute_session(ib.broker, ib.execution, gate, SessionRequest(session, weights, source, closes), config)
    return SessionOrders(summary, tripped)
