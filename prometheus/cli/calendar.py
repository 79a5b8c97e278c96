"""``prometheus calendar``: sessions and market states."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import typer

from prometheus.calendar import TradingCalendar
from prometheus.calendar.trading_calendar import DEFAULT_START
from prometheus.cli._common import run, settings
from prometheus.core.time import to_date, to_utc, utc_now

app = typer.Typer(help="Trading sessions and market states (exchange_calendars).", no_args_is_help=True)

#: History ``state`` loads before the instant: the previous session (for its POST_CLOSE window) lies within it
#: even across the longest closures. Building the calendar from 1990 instead costs about 0.2 s per command.
STATE_LOOKBACK = timedelta(days=31)


def _calendar(start: str = DEFAULT_START) -> TradingCalendar:
    s = settings()
    return TradingCalendar(timedelta(minutes=s.pre_open_minutes), timedelta(minutes=s.post_close_minutes), start=start)


def _state_start(ts: datetime) -> str:
    return max(ts.date() - STATE_LOOKBACK, date.fromisoformat(DEFAULT_START)).isoformat()


@app.command("state")
def state(
    market: str = typer.Argument(..., help="US_EQ, US_FUT, EU_EQ, JP_EQ or FX_GLOB."),
    at: str = typer.Option(None, "--at", help="Instant to evaluate (ISO; naive means UTC). Default: now."),
) -> None:
    """Print the state of MARKET (first word), then the next transition."""

    def show() -> None:
        ts = to_utc(at) if at else utc_now()
        cal = _calendar(_state_start(ts))
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
