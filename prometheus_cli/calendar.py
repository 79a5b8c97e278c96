"""``prometheus calendar``: sessions and market states."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import typer

from prometheus.calendar import TradingCalendar
from prometheus.calendar.trading_calendar import DEFAULT_START
from prometheus.core.time import utc_now
from prometheus_cli._common import date_option, instant_option, run, settings

app = typer.Typer(help="Trading sessions and market states (exchange_calendars).", no_args_is_help=True)


def _calendar(start: str = DEFAULT_START) -> TradingCalendar:
    s = settings()
    # The schedule cache under the data root spares later commands loading exchange_calendars (and pandas).
    return TradingCalendar(timedelta(minutes=s.pre_open_minutes), timedelta(minutes=s.post_close_minutes),
                           start=start, cache_dir=s.data_path / "cache" / "calendar")  # fmt: skip


def _state_start(ts: datetime) -> str:
    """First day of the month before ``ts``: the previous session (for its POST_CLOSE window) lies after it even
    across the longest closures, and the start (the schedule cache's key) changes once a month, not daily."""
    month = ts.year * 12 + ts.month - 2
    return max(date(month // 12, month % 12 + 1, 1), date.fromisoformat(DEFAULT_START)).isoformat()


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
