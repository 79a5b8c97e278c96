"""``prometheus dashboard``: the operator dashboard, a web page served by uvicorn (127.0.0.1:8050 by default)."""

from __future__ import annotations

import getpass
import ipaddress
from datetime import timedelta

import typer
import uvicorn
from starlette.applications import Starlette

from prometheus.calendar import TradingCalendar
from prometheus.execution.kill_switch import GLOBAL_SCOPE
from prometheus.reporting.dashboard_data import LIVE_EXPERIMENT
from prometheus.runtime import RuntimeStore
from prometheus_cli._common import run, settings
from prometheus_dashboard import DashboardConfig, create_app
from prometheus_dashboard.app import check_templates

HELP = (
    "Serve the operator dashboard on http://127.0.0.1:8050: per market its state and next transition, regime and "
    "its probability history, stability and fragility hot spots, target and current portfolio, exposures and "
    "ex-ante risk, P&L, open orders, alerts and the kill switch (halt after a typed confirmation)."
)


def dashboard(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on; anything but loopback warns."),
    port: int = typer.Option(8050, "--port", min=1, max=65535, help="Port of the dashboard."),
    experiment: str = typer.Option(
        LIVE_EXPERIMENT, "--experiment", help="Experiment shown first: a backtest's name, or 'live' (PAPER/LIVE)."
    ),
    scope: str = typer.Option(GLOBAL_SCOPE, "--scope", help="Kill-switch scope shown and halted."),
) -> None:
    """Serve the dashboard on the runtime store of the settings until interrupted."""
    if not is_loopback(host):
        typer.echo(
            f"warning: listening on {host}, not loopback: the dashboard has no login and anyone who reaches it "
            "can halt trading; prefer 127.0.0.1 behind an SSH tunnel or an authenticating proxy",
            err=True,
        )
    s = settings()
    run(check_templates)
    store = run(lambda: RuntimeStore(s.effective_runtime_db_url))
    try:
        # Halting must work on a fresh store too (as `prometheus kill-switch halt`): migrating is idempotent.
        run(store.upgrade)
        calendar = TradingCalendar(timedelta(minutes=s.pre_open_minutes), timedelta(minutes=s.post_close_minutes),
                                   cache_dir=s.data_path / "cache" / "calendar")  # fmt: skip
        config = DashboardConfig(experiment=experiment, scope=scope, operator=_who())
        typer.echo(f"dashboard on http://{host}:{port} (runtime store {store.masked_url}, experiment {experiment})")
        serve(create_app(store, calendar, config), host, port)
    finally:
        store.close()


def serve(app: Starlette, host: str, port: int) -> None:
    """Run ``app`` under uvicorn until interrupted (Ctrl-C)."""
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine (``localhost`` or a loopback address)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def _who() -> str:
    try:
        return f"dashboard:{getpass.getuser()}"
    except (KeyError, OSError):
        return "dashboard"
