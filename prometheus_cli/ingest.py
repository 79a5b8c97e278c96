"""``prometheus ingest``: vendor files, the synthetic market and the ``arch`` reference data into the lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prometheus.calendar import parse_market
from prometheus.data.synthetic import SyntheticConfig
from prometheus_cli import flows
from prometheus_cli._common import run, settings

app = typer.Typer(
    help="Ingest historical data: QC, quarantine, corporate-action adjustment and point-in-time publishing.",
    no_args_is_help=True,
)


@app.command(
    "vendor", help="Ingest a vendor directory (instruments, prices, corporate_actions, ... as CSV or Parquet)."
)
def vendor(
    directory: Annotated[Path, typer.Argument(help="Folder with the vendor files (see docs/vendor-files.md).")],
    market: str = typer.Option("US_EQ", "--market", help="Market of every row (US_EQ, EU_EQ, JP_EQ, ...)."),
    benchmark: str | None = typer.Option(
        None, "--benchmark", help="Benchmark series of the market (e.g. SP500); default: equal-weighted market."
    ),
) -> None:
    """Ingest ``directory`` for ``market`` through the market's ingestion job (a Dagster run)."""
    s = settings()
    run(lambda: flows.ingest_vendor(s, directory, parse_market(market), benchmark, typer.echo))


@app.command("synthetic", help="Generate the synthetic market and ingest it through the vendor path.")
def synthetic(
    names: int = typer.Option(500, "--names", help="Instruments over the whole history."),
    years: int = typer.Option(10, "--years", help="Calendar years of sessions."),
    seed: int = typer.Option(42, "--seed", help="Root seed (same seed, same market)."),
) -> None:
    """Generate (files kept under <data_root>/vendor/us_eq) and ingest through the ingestion job."""
    s = settings()

    def go() -> None:
        config = SyntheticConfig.from_mapping(
            {"n_names": names, "years": years, "seed": seed}, source="command-line options"
        )
        flows.ingest_synthetic(s, config, typer.echo)

    run(go)


@app.command("reference", help="Ingest the S&P 500, NASDAQ and Fama-French series shipped with the arch package.")
def reference() -> None:
    """Benchmark and factor series for US_EQ, through the reference job."""
    s = settings()
    run(lambda: flows.ingest_reference(s, typer.echo))
