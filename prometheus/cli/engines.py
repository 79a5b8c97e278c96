"""``prometheus run-engines``: run the engine chain over a session range and print a summary."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import typer

from prometheus.calendar import TradingCalendar, parse_market
from prometheus.cli._common import date_option, run, settings
from prometheus.core.errors import DataError
from prometheus.core.time import to_date
from prometheus.data.store import HistoricalStore
from prometheus.engines.pipeline import EngineChainConfig, run_chain
from prometheus.runtime.decision_log import DecisionLog
from prometheus.runtime.store import RuntimeStore

HELP = "Run the engines (Regime -> Stability -> Fragility) over a session range and print a summary."


def run_engines(
    market: str = typer.Option(..., "--market", help="Market id, e.g. US_EQ."),
    start: date = typer.Option(..., "--start", parser=date_option, metavar="YYYY-MM-DD", help="First session."),
    end: date = typer.Option(..., "--end", parser=date_option, metavar="YYYY-MM-DD", help="Last session."),
    experiment: str = typer.Option("default", "--experiment", help="Experiment name (a column of every row)."),
    config: Path = typer.Option(
        None, "--config", help="YAML file with optional sections regime:, stability:, fragility:."
    ),
) -> None:
    """Run the engines that exist, record configs, runs and decisions, and print one line per engine."""
    s = settings()

    def go() -> None:
        m = parse_market(market)
        cal = TradingCalendar(timedelta(minutes=s.pre_open_minutes), timedelta(minutes=s.post_close_minutes))
        sessions = cal.sessions(m, to_date(start), to_date(end))
        if not sessions:
            raise DataError(f"no sessions of {m.value} between {start} and {end}", field="--start/--end")
        chain = EngineChainConfig.from_yaml(config) if config else EngineChainConfig()
        with RuntimeStore(s.effective_runtime_db_url) as runtime:
            runtime.upgrade()
            results = run_chain(
                HistoricalStore(s.lake_path),
                cal,
                m,
                sessions,
                experiment,
                chain,
                bar_delay=timedelta(seconds=s.bar_delay_seconds),
                log=DecisionLog(runtime),
            )
        typer.echo(f"{m.value} {sessions[0]}..{sessions[-1]} ({len(sessions)} sessions), experiment {experiment!r}")
        for out, summary in results:
            typer.echo(
                f"  {summary.engine:<10} version {summary.config_version[:12]}  rows {summary.rows:>7}  "
                f"{'reused' if summary.reused else 'computed'}"
            )
            for line in describe(summary.engine, out.frame):
                typer.echo(f"      {line}")
            for note in summary.notes:
                typer.echo(f"      note: {note}")

    run(go)


def describe(engine: str, frame: pl.DataFrame) -> list[str]:
    """One or two lines of what an engine decided."""
    if frame.is_empty():
        return ["no rows"]
    if engine == "regime" and "label" in frame.columns:
        counts = frame["label"].value_counts().sort("label")
        shares = ", ".join(f"{r['label']} {r['count']}" for r in counts.iter_rows(named=True))
        return [f"sessions by label: {shares}; last: {frame['label'][-1]}"]
    return [f"{len(frame)} rows over {frame['session'].n_unique()} sessions"]
