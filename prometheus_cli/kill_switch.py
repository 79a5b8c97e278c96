"""``prometheus kill-switch``: set or show the RiskGate kill switch (``risk_state``, seen by every process)."""

from __future__ import annotations

import getpass

import typer

from prometheus.execution.kill_switch import GLOBAL_SCOPE, KillSwitch
from prometheus.execution.types import TradingState
from prometheus.runtime import RuntimeStore
from prometheus_cli._common import run, settings

app = typer.Typer(
    help="Kill switch: halt (nothing trades), reduce (only risk-reducing orders), resume, status.",
    no_args_is_help=True,
)

_SCOPE = typer.Option(GLOBAL_SCOPE, "--scope", help="'global' or an account / experiment id.")
_REASON = typer.Option("", "--reason", help="Why (stored with the change).")


def _switch(scope: str) -> tuple[RuntimeStore, KillSwitch]:
    store = run(lambda: RuntimeStore(settings().effective_runtime_db_url))
    # An emergency stop must work on a fresh store too: migrating is idempotent.
    run(store.upgrade)
    return store, KillSwitch(store, scope)


def _set(state: TradingState, reason: str, scope: str) -> None:
    store, switch = _switch(scope)
    try:
        change = run(lambda: switch.set(state, reason or f"{state.value.lower()} from the command line", _who()))
        typer.echo(f"{scope}: {change.state.value} (by {change.set_by} at {change.set_at.isoformat()})")
    finally:
        store.close()


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@app.command("halt")
def halt(reason: str = _REASON, scope: str = _SCOPE) -> None:
    """HALTED: the RiskGate rejects every order."""
    _set(TradingState.HALTED, reason, scope)


@app.command("reduce")
def reduce(reason: str = _REASON, scope: str = _SCOPE) -> None:
    """REDUCING: only orders that shrink a position pass."""
    _set(TradingState.REDUCING, reason, scope)


@app.command("resume")
def resume(reason: str = _REASON, scope: str = _SCOPE) -> None:
    """ACTIVE: every order goes through the normal RiskGate rules again."""
    _set(TradingState.ACTIVE, reason, scope)


@app.command("status")
def status(
    scope: str = _SCOPE, last: int = typer.Option(5, "--last", min=0, help="How many past changes to list.")
) -> None:
    """Show the state in force and the latest changes."""
    store, switch = _switch(scope)
    try:
        changes = run(lambda: switch.history(limit=max(last, 1)))
        state = changes[0].state if changes else TradingState.ACTIVE
        typer.echo(f"{scope}: {state.value}")
        for c in changes[:last]:
            typer.echo(f"  {c.set_at.isoformat()}  {c.state.value:<8}  {c.set_by}  {c.reason}")
    finally:
        store.close()
