"""The ``prometheus`` command line. Each area's commands live in their own module of this package.

Sub-commands are registered by module path and imported only when one runs (see :mod:`prometheus_cli._lazy`):
``prometheus calendar state US_EQ`` never pays for DuckDB, SQLAlchemy or torch, and ``prometheus --help`` for
none of them. Each summary below is what ``prometheus --help`` lists; a test checks it against the command's
own help.
"""

from __future__ import annotations

from typing import ClassVar

import typer

from prometheus_cli._lazy import LazyCommand, LazyGroup

#: Sub-commands in the order ``prometheus --help`` lists them: name -> where it lives and its summary.
COMMANDS: dict[str, LazyCommand] = {
    "demo": LazyCommand(
        "prometheus_cli.demo",
        "demo",
        "Run the embedded default end to end as Dagster runs in the local instance (DAGSTER_HOME, by default "
        "<data root>/dagster_home): create the data root, upgrade the runtime store, write the trading sessions, "
        "ingest the default synthetic market and the reference data, train the encoders and write embeddings and "
        "profiles, embed the last months of news, then backtest the seven engines through the market simulator as "
        "the experiment 'demo' (the market's last three years, at least two years after its start), write the tear "
        "sheet and print the headline metrics and its path. Afterwards `make ui` shows every asset the demo built.",
    ),
    "sql": LazyCommand(
        "prometheus_cli.sql",
        "app",
        "Read-only SQL on the historical catalog, optionally as known at --as-of (or on the runtime store with "
        "--runtime), printed as CSV.",
    ),
    "run-engines": LazyCommand(
        "prometheus_cli.engines",
        "run_engines",
        "Run the seven engines (Regime -> Stability -> Fragility -> Assessment -> Universe -> Portfolio -> Scenarios) "
        "as Dagster runs over the partitions covering a session range, and print a summary.",
    ),
    "backtest": LazyCommand(
        "prometheus_cli.backtest",
        "backtest",
        "Backtest a market over a date range as an experiment: the seven engines, order planning, the RiskGate and "
        "the market simulator as Dagster runs in the local instance, then a tear sheet (HTML) and the headline "
        "metrics; --list shows recorded experiments, --compare A B writes a comparison report.",
    ),
    "portfolio-view": LazyCommand(
        "prometheus_cli.portfolio_view",
        "portfolio_view",
        "Several markets' books in one base currency (FX known at each close): NAV, exposures, currency weights, P&L.",
    ),
    "synth": LazyCommand(
        "prometheus_cli.synth",
        "app",
        "Generate the seeded synthetic market and write its vendor files and truth/ folder to OUTDIR.",
    ),
    "execute": LazyCommand(
        "prometheus_cli.execute",
        "app",
        "Execute a session's target portfolio at the current mode's IB account (PAPER / LIVE): plan with the broker's "
        "snapshot prices, pass the RiskGate, send what was not sent yet, wait for fills, record and summarise.",
    ),
    "dashboard": LazyCommand(
        "prometheus_cli.dashboard",
        "dashboard",
        "Serve the operator dashboard on http://127.0.0.1:8050: per market its state and next transition, regime and "
        "its probability history, stability and fragility hot spots, target and current portfolio, exposures and "
        "ex-ante risk, P&L, open orders, alerts and the kill switch (halt after a typed confirmation).",
    ),
    "ui": LazyCommand(
        "prometheus_cli.ui",
        "ui",
        "Start the Dagster UI (dagster dev) on the local instance under DAGSTER_HOME (default "
        "<data root>/dagster_home), showing the runs, materialisations and checks of the CLI's commands.",
    ),
    "alerts": LazyCommand(
        "prometheus_cli.alerts",
        "app",
        "Alerts (failed runs, QC checks, kill switch, broker, Kronos): list them as CSV (newest first, --all, "
        "--market), acknowledge one (ack ID --by NAME).",
        group=True,
    ),
    "broker": LazyCommand(
        "prometheus_cli.broker",
        "app",
        "The current mode's IB account (PAPER / LIVE): status (CSV) and reconciliation.",
        group=True,
    ),
    "calendar": LazyCommand(
        "prometheus_cli.calendar", "app", "Trading sessions and market states (exchange_calendars).", group=True
    ),
    "config": LazyCommand(
        "prometheus_cli.config",
        "app",
        "Effective settings (from PROMETHEUS_* variables): show them, or check them and every file they name.",
        group=True,
    ),
    "db": LazyCommand(
        "prometheus_cli.db", "app", "Runtime store schema: upgrade, current revision, history.", group=True
    ),
    "ingest": LazyCommand(
        "prometheus_cli.ingest",
        "app",
        "Ingest historical data: QC, quarantine, corporate-action adjustment and point-in-time publishing.",
        group=True,
    ),
    "kronos": LazyCommand(
        "prometheus_cli.kronos",
        "app",
        "Kronos: report on an experiment's decision outcomes (slices by regime, degraded configs) with config "
        "proposals; evaluate a proposal on a hold-out; approve, reject or roll back (PAPER/LIVE promotions).",
        group=True,
    ),
    "kill-switch": LazyCommand(
        "prometheus_cli.kill_switch",
        "app",
        "Kill switch: halt (nothing trades), reduce (only risk-reducing orders), resume, status.",
        group=True,
    ),
}


class PrometheusGroup(LazyGroup):
    """The root group: every sub-command of :data:`COMMANDS`, loaded on use."""

    lazy_commands: ClassVar[dict[str, LazyCommand]] = COMMANDS


app = typer.Typer(
    name="prometheus",
    cls=PrometheusGroup,
    help="Prometheus v2: point-in-time data, engines, backtests and execution.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    # Typer builds a group only for an app with a callback or registered commands; the sub-commands here are
    # added by PrometheusGroup, so this empty callback is what makes ``app`` a group.
    pass


def main() -> None:
    """Console entry point."""
    app()
