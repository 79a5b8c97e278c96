"""``prometheus demo``: the main job on the embedded default data."""

from __future__ import annotations

from datetime import timedelta

import typer

from prometheus.calendar import MARKETS, TradingCalendar
from prometheus.cli._common import run, settings
from prometheus.core.time import utc_now

HELP = "Run the embedded default end to end: create the data root and show every market's state."


def demo() -> None:
    """Run the demo on the embedded default data root."""
    s = settings()

    def go() -> None:
        s.data_path.mkdir(parents=True, exist_ok=True)
        typer.echo(f"data root: {s.data_path}")
        cal = TradingCalendar(timedelta(minutes=s.pre_open_minutes), timedelta(minutes=s.post_close_minutes))
        now = utc_now()
        typer.echo(f"market states at {now.isoformat(timespec='seconds')}:")
        for market in MARKETS:
            state = cal.state(market, now)
            nxt = cal.next_transition(market, now)
            typer.echo(f"  {market.value:<8} {state.value:<10} next {nxt.state.value:<10} at "
                       f"{nxt.at.astimezone(cal.tz(market)).isoformat(timespec='minutes')}")

    run(go)
