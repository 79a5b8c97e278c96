"""``prometheus portfolio-view``: the books of several markets in one base currency, with point-in-time FX."""

from __future__ import annotations

import sys
from datetime import date, datetime

import typer

from prometheus_cli._common import date_option, instant_option, run, settings

HELP = "Several markets' books in one base currency (FX known at each close): NAV, exposures, currency weights, P&L."

FRAMES = ("total", "markets", "currencies")


def portfolio_view(
    markets: str = typer.Option(..., "--markets", help="Comma-separated markets, e.g. US_EQ,EU_EQ,JP_EQ."),
    experiment: str = typer.Option(..., "--experiment", help="Backtest name, or 'live' for the PAPER/LIVE account."),
    base: str = typer.Option("USD", "--base", help="ISO 4217 base currency."),
    as_of: datetime | None = typer.Option(
        None,
        "--as-of",
        parser=instant_option,
        metavar="T",
        help="The view as known at T (default: now): ISO timestamp (UTC when no offset) or date (00:00 UTC).",
    ),
    start: date | None = typer.Option(None, "--start", parser=date_option, metavar="DATE", help="First session."),
    end: date | None = typer.Option(None, "--end", parser=date_option, metavar="DATE", help="Last session."),
    csv: bool = typer.Option(False, "--csv", help="Print one frame (--frame) as CSV instead of the summary."),
    frame: str = typer.Option("total", "--frame", help="With --csv: total, markets or currencies."),
) -> None:
    """Put the books of several markets together in one base currency.

    Each market's book of a session (backtest_daily for a backtest, else the
    account's cash and positions) is valued at the market's close and
    converted with the latest FX_GLOB close known at that instant: a JP_EQ or
    EU_EQ close of day D uses the FX close of D-1 (17:00 New York). Shows,
    per market and in total, NAV, cash, positions' net and gross value,
    gross and net exposure, the weight of each currency, and the daily P&L
    in base currency split into local-currency P&L and FX translation.

    Without --csv a summary of the last date is printed; --csv prints the
    chosen frame for every session. A missing FX rate is an error naming
    the pair and the instant (exit code 2).
    """
    if frame not in FRAMES:
        raise typer.BadParameter(f"one of {', '.join(FRAMES)}", param_hint="'--frame'")
    s = settings()

    def go() -> None:
        # Imported here: the command's help must not pay for polars, DuckDB and SQLAlchemy.
        from prometheus.calendar import get_calendar, parse_market
        from prometheus.core.time import utc_now
        from prometheus.data.store import HistoricalStore
        from prometheus.data.timemachine import TimeMachine
        from prometheus.reporting.multi_currency import PortfolioViewRequest, build_portfolio_view
        from prometheus.runtime.store import RuntimeStore

        request = PortfolioViewRequest(
            experiment=experiment,
            markets=tuple(parse_market(m.strip()) for m in markets.split(",") if m.strip()),
            base=base,
            start=start,
            end=end,
        )
        view = TimeMachine(HistoricalStore(s.lake_path), as_of or utc_now())
        runtime = RuntimeStore(s.effective_runtime_db_url)
        try:
            result = build_portfolio_view(runtime, view, get_calendar(), request)
        finally:
            runtime.close()
        if csv:
            getattr(result, frame).write_csv(sys.stdout)
            return
        typer.echo(_summary(result))

    run(go)


def _summary(result: object) -> str:
    """The last date of the view in a few lines (per market, total, currencies)."""
    from prometheus.reporting.multi_currency import PortfolioView

    assert isinstance(result, PortfolioView)
    if result.total.is_empty():
        return f"no books known at {result.as_of.isoformat()}"
    last = result.total.row(-1, named=True)
    day = last["date"]
    lines = [f"portfolio in {result.base} on {day} (as known at {result.as_of.isoformat()})"]
    latest = result.markets.filter(result.markets["session"] <= day).group_by("market").tail(1).sort("market")
    for r in latest.iter_rows(named=True):
        lines.append(
            f"  {r['market']:<8} {r['session']} {r['currency']} @ {r['fx_rate']:.6g} ({r['fx_route']}, FX "
            f"{r['fx_date'] or '-'})  NAV {r['equity']:,.2f}  gross {r['gross_exposure'] or 0.0:.2f}  net "
            f"{r['net_exposure'] or 0.0:.2f}  P&L {_money(r['pnl'])} = local {_money(r['local_pnl'])} + FX "
            f"{_money(r['fx_pnl'])}"
        )
    lines.append(
        f"  {'TOTAL':<8} NAV {last['equity']:,.2f}  gross {last['gross_value']:,.2f} "
        f"({last['gross_exposure'] or 0.0:.2f})  net {last['market_value']:,.2f} "
        f"({last['net_exposure'] or 0.0:.2f})  P&L {_money(last['pnl'])} = local {_money(last['local_pnl'])} "
        f"+ FX {_money(last['fx_pnl'])}"
    )
    for r in result.currencies.filter(result.currencies["date"] == day).iter_rows(named=True):
        lines.append(
            f"  {r['currency']:<8} NAV {r['equity']:,.2f} ({_pct(r['equity_weight'])})  gross "
            f"{r['gross_value']:,.2f} ({_pct(r['gross_weight'])})"
        )
    return "\n".join(lines)


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
