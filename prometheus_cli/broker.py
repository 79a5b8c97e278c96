"""``prometheus broker``: the current mode's IB account (PAPER / LIVE): status and reconciliation.

Both commands connect to IB Gateway / TWS with the ``PROMETHEUS_IB_*`` settings, pass the account guard, and
disconnect when done; BACKTEST has no broker account and is refused.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

import typer

from prometheus.calendar import parse_market
from prometheus.core.settings import Settings
from prometheus.core.time import utc_now
from prometheus.core.types import Market, Mode
from prometheus.execution.brokers.ib import ForeignOrder, IbBroker, IbConfig, IbStatus, mask_account
from prometheus.execution.kill_switch import KillSwitch
from prometheus.execution.live import LIVE_EXPERIMENT, reconcile_and_record
from prometheus.execution.planner import PlannerConfig
from prometheus.execution.store import ExecutionContext, ExecutionStore
from prometheus.orchestration import BrokerAlerts
from prometheus.orchestration.alerts import Alerter, AlertSource, NewAlert
from prometheus.runtime import RuntimeStore
from prometheus.runtime.enums import AlertSeverity
from prometheus_cli._common import run, settings

app = typer.Typer(
    help="The current mode's IB account (PAPER / LIVE): status (CSV) and reconciliation.", no_args_is_help=True
)

_MARKET = typer.Option("US_EQ", "--market", help="Market whose orders are reconciled.")
#: Columns of the open-order block of ``broker status``.
OPEN_ORDER_COLUMNS = ("order_ref", "instrument", "action", "quantity", "filled", "order_type", "status",
                      "client_id", "order_id", "perm_id", "ours")  # fmt: skip


def ib_settings(command: str) -> Settings:
    """The settings, refused with a clear message unless the mode trades at IB."""
    s = settings()
    if s.mode is Mode.BACKTEST:
        typer.echo(
            f"error: prometheus {command} needs a broker account: PROMETHEUS_MODE is BACKTEST (orders go to the "
            "market simulator there); set PROMETHEUS_MODE=PAPER (or LIVE) and the PROMETHEUS_IB_* settings",
            err=True,
        )
        raise typer.Exit(code=2)
    return s


@dataclass
class IbSession:
    """A connected broker with the runtime store, kill switch and execution store it records into."""

    broker: IbBroker
    runtime: RuntimeStore
    kill_switch: KillSwitch
    execution: ExecutionStore


@contextmanager
def ib_session(s: Settings, market: Market, config_version: str | None = None) -> Iterator[IbSession]:
    """Open the runtime store (migrated), connect to IB (account guard, reconciliation), close both afterwards.

    ``config_version`` goes on the execution rows written (default: the default planner's).
    """
    runtime = run(lambda: RuntimeStore(s.effective_runtime_db_url))
    try:
        run(runtime.upgrade)
        switch = KillSwitch(runtime)
        # IB connectivity loss moves this switch to REDUCING, seen by every process.
        version = config_version or PlannerConfig().config_version
        execution = ExecutionStore(runtime, ExecutionContext(market, LIVE_EXPERIMENT, version))
        # Reconciliation on every connect reads our working orders (and which refs we ever sent) from the store.
        # Losing and regaining IB connectivity raise alerts (table, log, webhook) besides moving the switch.
        alerts = BrokerAlerts(Alerter(runtime, s.alert_webhook), "ib", market)
        broker = IbBroker(
            IbConfig.from_settings(s), kill_switch=switch, order_source=execution.working_orders,
            known_refs=execution.known_refs, on_connectivity=alerts,
        )  # fmt: skip
        run(broker.connect)
        try:
            report = broker.last_reconcile
            if report is not None:  # what the connect's reconciliation changed, recorded at once
                changed = list(report.orders)
                run(lambda: execution.record_execution(changed, broker.fills(), utc_now()))
            yield IbSession(broker, runtime, switch, execution)
        finally:
            broker.disconnect()
    finally:
        runtime.close()


def write_status_csv(status: IbStatus, out: TextIO | None = None) -> None:
    """Three CSV blocks separated by a blank line: the connection, positions, open orders at IB."""
    stream = out or sys.stdout
    w = csv.writer(stream, lineterminator="\n")
    w.writerow(["mode", "endpoint", "client_id", "connected", "account", "degraded"])
    w.writerow([status.mode.value, status.endpoint, status.client_id, str(status.connected).lower(),
                status.account, status.degraded])  # fmt: skip
    stream.write("\n")
    w.writerow(["instrument", "quantity", "average_cost"])
    for name in sorted(status.positions):
        p = status.positions[name]
        w.writerow([name, f"{p.quantity:g}", f"{p.average_price:.4f}"])
    stream.write("\n")
    w.writerow(OPEN_ORDER_COLUMNS)
    for o in status.open_orders:
        w.writerow([_cell(getattr(o, c)) for c in OPEN_ORDER_COLUMNS])


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@app.command("status")
def status() -> None:
    """Connection, masked account, mode, positions and IB's open orders (every client id), as CSV."""
    s = ib_settings("broker status")
    with ib_session(s, Market.US_EQ) as session:
        write_status_csv(run(session.broker.status))


@app.command("reconcile")
def reconcile(market: str = _MARKET) -> None:
    """Reconcile now: re-link our working orders at IB, record fills missed meanwhile, alert on foreign orders.

    Prints what changed (the connect's reconciliation included); each foreign order (at IB, not sent by us) is
    also written to the alerts table (the broker's foreign-order policy, ``IbConfig.foreign_orders``, decides
    whether it is also adopted or cancelled; by default it is only alerted).
    """
    s = ib_settings("broker reconcile")
    chosen = run(lambda: parse_market(market))
    with ib_session(s, chosen) as session:
        done = run(lambda: reconcile_and_record(session.broker, session.execution))
        typer.echo(f"account {mask_account(session.broker.account)} ({s.mode.value}), {chosen.value}")
        for line in done.lines:
            typer.echo(line)
        alert_foreign(session, s, chosen, [f for r in done.reports for f in r.foreign])


def alert_foreign(session: IbSession, s: Settings, market: Market, found: Iterable[object]) -> int:
    """Write one WARNING alert (source ``broker``) per foreign order (by permId); returns how many."""
    foreign = {f.perm_id: f for f in found if isinstance(f, ForeignOrder)}
    alerter = Alerter(session.runtime, s.alert_webhook)
    for f in foreign.values():
        details = {"perm_id": f.perm_id, "client_id": f.client_id, "order_ref": f.order_ref,
                   "instrument": f.instrument, "action": f.action, "quantity": f.quantity,
                   "status": f.ib_status, "handled": f.handled.value}  # fmt: skip
        alerter.raise_alert(NewAlert(AlertSeverity.WARNING, AlertSource.BROKER, f.describe(), market, details))
    return len(foreign)
