"""``prometheus run-engines``: run the engine chain over a session range and print a summary."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import typer

from prometheus.calendar import parse_market
from prometheus.core.time import to_date
from prometheus.engines.pipeline import EngineChainConfig
from prometheus_cli import flows
from prometheus_cli._common import date_option, run, settings

HELP = (
    "Run the seven engines (Regime -> Stability -> Fragility -> Assessment -> Universe -> Portfolio -> Scenarios) "
    "as Dagster runs over the partitions covering a session range, and print a summary."
)


def run_engines(
    market: str = typer.Option(..., "--market", help="Market id, e.g. US_EQ."),
    start: date = typer.Option(..., "--start", parser=date_option, metavar="YYYY-MM-DD", help="First session."),
    end: date = typer.Option(..., "--end", parser=date_option, metavar="YYYY-MM-DD", help="Last session."),
    experiment: str = typer.Option("default", "--experiment", help="Experiment name (a column of every row)."),
    config: Path = typer.Option(
        None,
        "--config",
        help="YAML file with optional sections regime:, stability:, fragility:, assessment:, universe:, portfolio:, "
        "scenarios:.",
    ),
) -> None:
    """Run the engines that exist, record configs, runs and decisions, and print one line per engine."""
    s = settings()

    def go() -> None:
        m = parse_market(market)
        chain = EngineChainConfig.from_yaml(config) if config else EngineChainConfig()
        sessions, lines = flows.run_engines(s, m, to_date(start), to_date(end), experiment, chain, typer.echo)
        typer.echo(f"{m.value} {sessions[0]}..{sessions[-1]} ({len(sessions)} sessions), experiment {experiment!r}")
        for line in lines:
            typer.echo(
                f"  {line.engine:<10} version {line.config_version[:12]}  rows {line.rows:>7}  "
                f"{'reused' if line.reused else 'computed'}"
            )
            for text in describe(line.engine, line.frame):
                typer.echo(f"      {text}")
            for note in filter(None, line.notes.splitlines()):
                typer.echo(f"      note: {note.removeprefix('- ')}")

    run(go)


def describe(engine: str, frame: pl.DataFrame) -> list[str]:
    """One or two lines of what an engine decided."""
    if frame.is_empty():
        return ["no rows"]
    if engine == "regime" and "label" in frame.columns:
        counts = frame["label"].value_counts().sort("label")
        shares = ", ".join(f"{r['label']} {r['count']}" for r in counts.iter_rows(named=True))
        return [f"sessions by label: {shares}; last: {frame['label'][-1]}"]
    if engine == "assessment" and "model_version" in frame.columns:
        last = frame.filter(pl.col("session") == frame["session"].max()).sort("score", descending=True)
        return [
            f"{len(frame)} scores over {frame['session'].n_unique()} sessions by {frame['model_version'].n_unique()} "
            f"model(s); top of {last['session'][0]}: {', '.join(last['instrument'].head(5).to_list())}"
        ]
    if engine == "portfolio" and "weight" in frame.columns:
        last = frame.filter(pl.col("session") == frame["session"].max())
        held = last.filter(pl.col("weight").abs() > 0)
        return [f"last session {last['session'][0]}: {held.height} names, gross {held['weight'].abs().sum():.2f}"]
    return [f"{len(frame)} rows over {frame['session'].n_unique()} sessions"]
