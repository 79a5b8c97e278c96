"""``prometheus calendar``: sessions and market states."""

from __future__ import annotations

from datetime import timedelta

import typer

from prometheus.calendar import TradingCalendar
from prometheus.cli._common import run, settings
from prometheus.core.time import to_date, to_utc, utc_now

app = typer.Typer(help="Trading sessions and market states (exchange_calendars).", no_args_is_help=True)


def _calendar() -> TradingCalendar:
    s = settings()
    return TradingCalendar(timedelta(minutes=s.pre_open_minutes), timedelta(minutes=s.post_close_minutes))


@app.command("state")
def state(
    market: str = typer.Argument(..., help="US_EQ, US_FUT, EU_EQ, JP_EQ or FX_GLOB."),
    at: str = typer.Option(None, "--at", help="Instant to evaluate (ISO; naive means UTC). Default: now."),
) -> None:
    """Print the state of MARKET (first word), then the next transition."""
    cal = _calendar()

    def show() -> None:
        ts = to_utc(at) if at else utc_now()
        current = cal.state(market, ts)
        nxt = cal.next_transition(market, ts)
        local = nxt.at.astimezone(cal.tz(market))
        typer.echo(
            f"{current.value} {market.upper()} at {ts.isoformat()}; next {nxt.state.value} at "
            f"{nxt.at.isoformat()} ({local.isoformat()} local)"
        )

    run(show)


@app.command("sessions")
def sessions(
    market: str = typer.Argument(..., help="US_EQ, US_FUT, EU_EQ, JP_EQ or FX_GLOB."),
    start: str = typer.Option(..., "--start", help="First date (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--end", help="Last date (YYYY-MM-DD)."),
) -> None:
    """Print the sessions of MARKET between START and END as CSV (times in UTC)."""
    cal = _calendar()

    def show() -> None:
        frame = cal.sessions_frame(market, to_date(start), to_date(end))
        typer.echo("session,open,close,break_start,break_end")
        for row in frame.iter_rows():
            typer.echo(",".join("" if v is None else v.isoformat() for v in row))

    run(show)
