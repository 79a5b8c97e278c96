"""``prometheus calendar``: sessions and market states."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import typer

from prometheus.calendar import TradingCalendar
from prometheus.calendar.trading_calendar import DEFAULT_START
from prometheus.core.time import utc_now
from prometheus_cli._common import date_option, instant_option, run, settings

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
    at: datetime | None = typer.Option(
        None,
        "--at",
        parser=instant_option,
        metavar="T",
        help="Instant to evaluate: ISO 8601 (UTC when no offset), e.g. 2024-11-29T18:30Z. Default: now.",
    ),
) -> None:
    """Print the state of MARKET (first word), then the next transition."""

    def show() -> None:
        ts = at if at is not None else utc_now()
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
    start: date = typer.Option(..., "--start", parser=date_option, metavar="YYYY-MM-DD", help="First date."),
    end: date = typer.Option(..., "--end", parser=date_option, metavar="YYYY-MM-DD", help="Last date."),
) -> None:
    """Print the sessions of MARKET between START and END as CSV (times in UTC)."""
    cal = _calendar()

    def show() -> None:
        frame = cal.sessions_frame(market, start, end)
        typer.echo("session,open,close,break_start,break_end")
        for row in frame.iter_rows():
            typer.echo(",".join("" if v is None else v.isoformat() for v in row))

    run(show)
