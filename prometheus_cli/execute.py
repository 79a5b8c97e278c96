"""``prometheus execute``: send one session's target portfolio to the current mode's IB account (PAPER / LIVE).

Plans against the account's positions with the broker's snapshot prices, passes the RiskGate (kill switch in
force), sends only what no earlier run sent for the session (order_ref de-duplication after re-linking), waits
for fills and records everything in the runtime store. Safe to run again: a second run sends nothing twice.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from prometheus.calendar import get_calendar, parse_market
from prometheus.data.store import HistoricalStore
from prometheus.execution.live import ExecuteConfig, read_targets_csv
from prometheus.execution.planner import PlannerConfig
from prometheus.execution.risk_limits import risk_limits_from_settings
from prometheus.execution.types import OrderType
from prometheus.orchestration.orders import execute_targets
from prometheus_cli._common import date_option, run
from prometheus_cli.broker import ib_session, ib_settings

HELP = (
    "Execute a session's target portfolio at the current mode's IB account (PAPER / LIVE): plan with the broker's "
    "snapshot prices, pass the RiskGate, send what was not sent yet, wait for fills, record and summarise."
)

app = typer.Typer(help=HELP, add_completion=False)


@app.command("execute", help=HELP)
def execute(
    market: str = typer.Option(..., "--market", help="Market id, e.g. US_EQ."),
    session: date = typer.Option(..., "--session", parser=date_option, help="Session whose target is executed."),
    targets: Path | None = typer.Option(
        None, "--targets", help="CSV 'symbol,weight' to execute instead of the session's target_portfolios rows."
    ),
    wait: float = typer.Option(30.0, "--wait", min=0, help="Seconds to wait for fills after sending."),
    order_type: OrderType = typer.Option(OrderType.MOO, "--order-type", help="MOO, MOC, LIMIT or MARKET."),
) -> None:
    """Execute ``session``'s targets of ``market`` and print a summary (exit code 1 if sending stopped early)."""
    s = ib_settings("execute")
    m = run(lambda: parse_market(market))
    config = run(lambda: ExecuteConfig(planner=PlannerConfig(order_type=order_type), wait_s=wait))
    limits = run(lambda: risk_limits_from_settings(s))
    from_file = run(lambda: read_targets_csv(targets)) if targets is not None else None  # a bad file: before IB
    # The rows carry the planner's version: what shaped the orders (not how long this run waited).
    with ib_session(s, m, config.planner.config_version) as ib:
        explicit = (from_file, f"file {targets}") if from_file is not None else None
        historical = HistoricalStore(s.lake_path)
        done = run(lambda: execute_targets(ib, historical, get_calendar(), limits, session, config, explicit))
    if done.tripped is not None:  # a drawdown or daily loss beyond the limits tripped the switch before planning
        typer.echo(f"kill switch {done.tripped.state.value}: {done.tripped.reason}")
    summary = done.summary
    for line in summary.lines():
        typer.echo(line)
    if summary.errors:
        raise typer.Exit(code=1)
