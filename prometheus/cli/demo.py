"""``prometheus demo``: the main job on the embedded default data."""

from __future__ import annotations

from datetime import date, timedelta

import typer

from prometheus.calendar import MARKETS, TradingCalendar
from prometheus.cli._common import run, settings
from prometheus.core.time import utc_now
from prometheus.data.ingest import ingest_default
from prometheus.data.sessions import publish_trading_sessions
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig
from prometheus.profiles import build_default as build_encoders
from prometheus.runtime.store import RuntimeStore

HELP = (
    "Run the embedded default end to end: create the data root, upgrade the runtime store, write every "
    "market's trading sessions into the lake, ingest the default synthetic market and the reference data, train "
    "the encoders and write embeddings and profiles, and show every market's state."
)
#: Sessions written by the demo: the default synthetic market's years up to the end of next year.
DEMO_SESSIONS_START = date(2014, 1, 1)


def demo(
    names: int = typer.Option(500, "--names", help="Names in the synthetic market."),
    years: int = typer.Option(10, "--years", help="Years of sessions in the synthetic market."),
    seed: int = typer.Option(42, "--seed", help="Seed of the synthetic market."),
    max_headlines: int = typer.Option(500, "--max-headlines", help="Headlines embedded by the news encoder."),
) -> None:
    """Run the demo on the embedded default data root."""
    s = settings()

    def go() -> None:
        s.data_path.mkdir(parents=True, exist_ok=True)
        typer.echo(f"data root: {s.data_path}")
        with RuntimeStore(s.effective_runtime_db_url) as runtime:
            revision = runtime.upgrade()
            typer.echo(f"runtime store: {runtime.masked_url} at revision {revision}")
        cal = TradingCalendar(timedelta(minutes=s.pre_open_minutes), timedelta(minutes=s.post_close_minutes))
        store = HistoricalStore(s.lake_path)
        now = utc_now()
        end = date(now.year + 1, 12, 31)
        typer.echo(f"market states at {now.isoformat(timespec='seconds')}:")
        for market in MARKETS:
            last = min(end, cal.exchange_calendar(market).last_session.date())
            written = publish_trading_sessions(store, cal, market, DEMO_SESSIONS_START, last)
            state = cal.state(market, now)
            nxt = cal.next_transition(market, now)
            typer.echo(
                f"  {market.value:<8} {state.value:<10} next {nxt.state.value:<10} at "
                f"{nxt.at.astimezone(cal.tz(market)).isoformat(timespec='minutes')}   "
                f"[{written.sessions} sessions {written.first}..{written.last} in the lake]"
            )
        typer.echo("ingesting the synthetic market and the reference data ...")
        synthetic = SyntheticConfig.from_mapping(
            {"n_names": names, "years": years, "seed": seed}, source="command-line options"
        )
        for line in ingest_default(s, synthetic).lines():
            typer.echo(f"  {line}")
        typer.echo("training the encoders and writing embeddings and profiles ...")
        for line in build_encoders(s, max_headlines=max_headlines).lines():
            typer.echo(f"  {line}")

    run(go)
