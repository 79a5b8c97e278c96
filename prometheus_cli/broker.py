"""``prometheus broker``: the current mode's IB account (PAPER / LIVE): status and reconciliation.

Both commands connect to IB Gateway / TWS with the ``PROMETHEUS_IB_*`` settings, pass the account guard, and
disconnect when done; BACKTEST has no broker account and is refused.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TextIO

import typer

from prometheus.calendar import parse_market
from prometheus.core.settings import Settings
from prometheus.core.types import Market, Mode
from prometheus.execution.brokers.ib import IbConfig, IbStatus, mask_account
from prometheus.execution.live import reconcile_and_record
from prometheus.execution.planner import PlannerConfig
from prometheus.orchestration.orders import IbSession, foreign_order_alerts
from prometheus.orchestration.orders import ib_session as shared_ib_session
from prometheus.runtime import RuntimeStore
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


@contextmanager
def ib_session(s: Settings, market: Market, config_version: str | None = None) -> Iterator[IbSession]:
    """Open the runtime store (migrated), connect to IB through the platform's IB session (account guard,
    reconciliation recorded, connectivity alerts), close both afterwards.

    ``config_version`` goes on the execution rows written (default: the default planner's).
    """
    runtime = run(lambda: RuntimeStore(s.effective_runtime_db_url))
    try:
        run(runtime.upgrade)
        version = config_version or PlannerConfig().config_version
        with ExitStack() as stack:
            opened = shared_ib_session(IbConfig.from_settings(s), runtime, market, version, s.alert_webhook)
            yield run(lambda: stack.enter_context(opened))
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
        alert_foreign(session, chosen, [f for r in done.reports for f in r.foreign])


def alert_foreign(session: IbSession, market: Market, found: Iterable[object]) -> int:
    """Write one WARNING alert (source ``broker``) per foreign order (by permId); returns how many."""
    return len(session.alerter.raise_all(foreign_order_alerts(found, market)))
