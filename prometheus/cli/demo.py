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
from prometheus.runtime.store import RuntimeStore

HELP = (
    "Run the embedded default end to end: create the data root, upgrade the runtime store, write every "
    "market's trading sessions into the lake, ingest the default synthetic market and the reference data, and "
    "show every market's state."
)
#: Sessions written by the demo: the default synthetic market's years up to the end of next year.
DEMO_SESSIONS_START = date(2014, 1, 1)


def demo() -> None:
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
        typer.echo("ingesting the default synthetic market and the reference data ...")
        for line in ingest_default(s).lines():
            typer.echo(f"  {line}")

    run(go)
