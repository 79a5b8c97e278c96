"""``prometheus synth``: generate the synthetic market and write it as vendor files plus its ground truth."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from prometheus.calendar import parse_market
from prometheus.core.types import Market
from prometheus.data.synthetic import SyntheticConfig, generate_market, write_vendor_files
from prometheus.data.synthetic.profiles import market_config
from prometheus_cli._common import cli_errors, date_option

HELP = "Generate the seeded synthetic market and write its vendor files and truth/ folder to OUTDIR."


def _config(names: int, years: int, seed: int, start: date | None, market: Market) -> SyntheticConfig:
    fields: dict[str, object] = {"n_names": names, "years": years, "seed": seed}
    if start is not None:
        fields["start"] = start
    return market_config(market, fields, source="command-line options")


def synth(
    outdir: Annotated[Path, typer.Argument(help="Folder to write (created; existing files are replaced).")],
    names: Annotated[int, typer.Option("--names", help="Instruments over the whole history.")] = 500,
    years: Annotated[int, typer.Option("--years", help="Calendar years of the market's sessions.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Root seed: same seed, same bytes.")] = 42,
    start: Annotated[
        date | None,
        typer.Option(
            "--start", parser=date_option, metavar="YYYY-MM-DD", help="First calendar day (default 2014-01-02)."
        ),
    ] = None,
    market: Annotated[
        str, typer.Option("--market", help="US_EQ, EU_EQ, JP_EQ or FX_GLOB (currency pairs, --names at most 105).")
    ] = "US_EQ",
) -> None:
    """Generate the synthetic market and write instruments, prices, corporate actions, events, news, macro and
    truth/ under OUTDIR."""
    with cli_errors():
        m = parse_market(market)
        generated = generate_market(_config(names, years, seed, start, m), m)
        paths = write_vendor_files(generated, outdir)
        man = generated.truth.manifest
        typer.echo(f"wrote {len(paths)} files to {outdir} (seed {seed}, config {man['config_version'][:12]})")
        typer.echo(
            f"  {man['market']}: {man['names']} names x {man['sessions']} sessions "
            f"({man['first_session']} .. {man['last_session']}); {generated.prices.height} price rows, "
            f"{generated.corporate_actions.height} corporate actions, {generated.news.height} headlines"
        )
        typer.echo(f"  alpha IC designed {man['designed_ic']['alpha']:.4f}, realised {man['realised_ic']['alpha']:.4f}")


#: Standalone single-command app (``python -m``/tests); the main CLI mounts ``synth`` as ``prometheus synth``.
app = typer.Typer(help=HELP, add_completion=False)
app.command("synth", help=HELP)(synth)
