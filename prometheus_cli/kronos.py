"""``prometheus kronos``: reports on decision outcomes, config proposals, the hold-out, and a person's decision.

``report`` slices an experiment's outcomes and saves the report with Kronos' proposals; ``evaluate ID`` backtests
a proposal against the current config over a hold-out range (two experiments, as backfills) and records the
verdict; ``approve ID`` promotes a proposal that passed for PAPER or LIVE from a session on; ``reject ID`` and
``rollback ENGINE`` are recorded the same way; ``proposals``, ``show ID`` and ``promotions`` list what happened.
"""

from __future__ import annotations

import getpass
import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import typer

from prometheus.backtest.experiment import ExperimentConfig
from prometheus.calendar import get_calendar, parse_market
from prometheus.core.errors import ConfigError
from prometheus.core.time import utc_now
from prometheus.core.types import Market, Mode
from prometheus.meta.kronos import (
    KronosConfig,
    approve,
    get_proposal,
    list_proposals,
    list_reports,
    promotions,
    reject,
    rollback,
)
from prometheus.runtime import RuntimeStore
from prometheus.runtime.enums import ProposalStatus
from prometheus_assets.definitions import Flow, job_name
from prometheus_assets.launch import COMMAND_TAG, MARKET_TAG, run_job
from prometheus_assets.meta import KRONOS_ASSET
from prometheus_assets.partitions import EXPERIMENT_TAG
from prometheus_cli import flows
from prometheus_cli._common import date_option, run, settings

HELP = (
    "Kronos: report on an experiment's decision outcomes (slices by regime, degraded configs) with config "
    "proposals; evaluate a proposal on a hold-out; approve, reject or roll back (PAPER/LIVE promotions)."
)

app = typer.Typer(help=HELP, no_args_is_help=True)

_MARKET = typer.Option("US_EQ", "--market", help="Market id, e.g. US_EQ.")
_CONFIG = typer.Option(None, "--config", help="The experiment's YAML config (default: the engines' defaults).")
_BY = typer.Option(None, "--by", help="Who decides (default: the login name).")
_MODE = typer.Option("PAPER", "--mode", help="PAPER or LIVE.")
_FROM = typer.Option(None, "--from", parser=date_option, metavar="YYYY-MM-DD",
                     help="First session the config applies to (default: the next session).")  # fmt: skip


def _store() -> RuntimeStore:
    store = run(lambda: RuntimeStore(settings().effective_runtime_db_url))
    run(store.upgrade)
    return store


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _experiment_config(path: Path | None) -> ExperimentConfig:
    return run(lambda: ExperimentConfig.from_yaml(path) if path else ExperimentConfig())


@app.command("report")
def report(
    experiment: str = typer.Option(..., "--experiment", help="The experiment whose outcomes are analysed."),
    market: str = _MARKET,
    config: Path = _CONFIG,
) -> None:
    """Run <market>/kronos_report on the experiment through Dagster: print the findings and the slices, save the
    report and Kronos' proposals."""
    s, store = settings(), _store()

    def go() -> None:
        m = parse_market(market)
        chain = _experiment_config(config).chain
        launcher = flows.Launcher.for_market(s, m, typer.echo, engines=chain)
        done = run_job(launcher.defs, launcher.instance, job_name(m, Flow.KRONOS),
                       tags={EXPERIMENT_TAG: experiment, COMMAND_TAG: "kronos report", MARKET_TAG: m.value},
                       echo=typer.echo)  # fmt: skip
        meta = done.metadata(f"{m.value.lower()}/{KRONOS_ASSET}")
        stored = next(r for r in list_reports(store, experiment) if r["id"] == meta["report_id"])
        typer.echo(stored["summary"])
        slices = pl.DataFrame(stored["slices"]["slices"], infer_schema_length=None)
        if slices.height:
            at = slices.filter(pl.col("horizon_sessions") == KronosConfig().horizon)
            typer.echo(at.select("engine", "regime", "samples", "mean", "t_stat").write_csv().rstrip())
        for pid in meta["proposals"]:
            typer.echo(f"proposal {pid}: {get_proposal(store, pid)['rationale']}")
        typer.echo(f"report {meta['report_id']} ({len(meta['proposals'])} proposal(s))")

    run(go)


@app.command("proposals")
def proposals(status: str = typer.Option(None, "--status", help="PROPOSED, APPROVED, REJECTED or PROMOTED.")) -> None:
    """List proposals (CSV), newest first."""
    store = _store()
    wanted = run(lambda: ProposalStatus(status.upper()) if status else None)
    typer.echo("id,engine,status,decided_by,rationale")
    for p in list_proposals(store, wanted):
        typer.echo(f'{p["id"]},{p["engine"]},{p["status"]},{p["decided_by"] or ""},"{p["rationale"]}"')


@app.command("show")
def show(proposal_id: int = typer.Argument(..., metavar="ID")) -> None:
    """One proposal with its evidence (JSON)."""
    store = _store()
    found = run(lambda: get_proposal(store, proposal_id))
    typer.echo(json.dumps(found, indent=2, default=str, sort_keys=True))


@app.command("evaluate")
def evaluate(
    proposal_id: int = typer.Argument(..., metavar="ID"),
    start: date = typer.Option(..., "--start", parser=date_option, metavar="YYYY-MM-DD", help="Hold-out start."),
    end: date = typer.Option(..., "--end", parser=date_option, metavar="YYYY-MM-DD", help="Hold-out end."),
    market: str = _MARKET,
    config: Path = _CONFIG,
) -> None:
    """Backtest the proposal and the current config over a hold-out (sessions the report did not use) and record
    the verdict: Sharpe ratios and the deflated Sharpe over the configurations tried."""
    s, store = settings(), _store()

    def go() -> None:
        m = parse_market(market)
        verdict = flows.evaluate_proposal(s, store, proposal_id, m, start, end, _experiment_config(config), typer.echo)
        typer.echo(f"hold-out {start}..{end}: Sharpe current {verdict['sharpe_current_annual']:.2f}, proposed "
                   f"{verdict['sharpe_proposed_annual']:.2f} (annualised); deflated Sharpe "
                   f"{verdict['deflated_sharpe']:.3f} over {verdict['n_trials']} trial(s): "
                   f"{'ACCEPTED' if verdict['accepted'] else 'not accepted'}")  # fmt: skip

    run(go)


@app.command("approve")
def approve_cmd(
    proposal_id: int = typer.Argument(..., metavar="ID"),
    mode: str = _MODE,
    market: str = _MARKET,
    effective_from: date = _FROM,
    by: str = _BY,
    reason: str = typer.Option("", "--reason", help="Why (stored in the audit trail)."),
) -> None:
    """Approve a proposal that passed its hold-out: its config runs in MODE from the next session."""
    store = _store()

    def go() -> None:
        m = parse_market(market)
        first = effective_from or _next_session(m)
        pid = approve(store, proposal_id, _who(by), market=m, mode=_mode(mode), effective_from=first,
                      reason=reason)  # fmt: skip
        typer.echo(f"proposal {proposal_id} PROMOTED for {mode.upper()} {m.value} from {first} (promotion {pid})")

    run(go)


@app.command("reject")
def reject_cmd(
    proposal_id: int = typer.Argument(..., metavar="ID"),
    reason: str = typer.Option(..., "--reason", help="Why (stored with the proposal)."),
    by: str = _BY,
) -> None:
    """Reject a proposal."""
    store = _store()
    run(lambda: reject(store, proposal_id, _who(by), reason))
    typer.echo(f"proposal {proposal_id} REJECTED")


@app.command("rollback")
def rollback_cmd(
    engine: str = typer.Argument("portfolio", metavar="ENGINE"),
    mode: str = _MODE,
    market: str = _MARKET,
    effective_from: date = _FROM,
    reason: str = typer.Option(..., "--reason", help="Why (stored in the audit trail)."),
    by: str = _BY,
    config: Path = _CONFIG,
) -> None:
    """Return ENGINE to the config before the promoted one (or to its configured default)."""
    store = _store()

    def go() -> None:
        m = parse_market(market)
        if engine != "portfolio":
            raise ConfigError(f"Kronos promotes portfolio configs only, not {engine!r}", setting="ENGINE")
        default = _experiment_config(config).portfolio
        first = effective_from or _next_session(m)
        pid = rollback(store, engine, market=m, mode=_mode(mode), effective_from=first, by=_who(by),
                       reason=reason, default=default.model_dump(mode="json"),
                       default_version=default.config_version)  # fmt: skip
        typer.echo(f"{engine} on {m.value} {mode.upper()} rolled back from {first} (promotion {pid})")

    run(go)


@app.command("promotions")
def promotions_cmd(market: str = _MARKET) -> None:
    """The audit trail of promotions and rollbacks (CSV), oldest first."""
    store = _store()
    m = run(lambda: parse_market(market))
    typer.echo("id,engine,mode,action,config_version,effective_from,proposal_id,decided_by,reason")
    for r in promotions(store, market=m):
        typer.echo(f"{r['id']},{r['engine']},{r['mode']},{r['action']},{r['config_version'][:16]},"
                   f"{r['effective_from']},{r['proposal_id'] or ''},{r['decided_by']},\"{r['reason']}\"")  # fmt: skip


def _mode(text: str) -> Mode:
    """PAPER or LIVE (BACKTEST is refused by the promotion itself, with the reason)."""
    try:
        return Mode(text.upper())
    except ValueError:
        raise ConfigError(f"--mode {text!r}: one of PAPER, LIVE", setting="--mode") from None


def _next_session(market: Market) -> date:
    """The first session after today (UTC): a promotion never changes a session already under way."""
    today = utc_now().date()
    return get_calendar().sessions(market, today + timedelta(days=1), today + timedelta(days=14))[0]
