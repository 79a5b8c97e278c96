"""``prometheus ingest``: vendor files, IBKR daily bars, the synthetic market and the ``arch`` reference data into
the lake."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from prometheus.calendar import TradingCalendar, get_calendar, parse_market
from prometheus.core.errors import ConfigError, DataError
from prometheus.core.settings import Settings
from prometheus.core.time import utc_now
from prometheus.core.types import Market, Mode
from prometheus.data.ingest import delivery_dates, publish_market
from prometheus.data.ingest.ib_history import (
    IbBar,
    IbInstrument,
    PacingViolation,
    UnknownSymbolError,
    fetch_history,
    ib_delivery_dir,
    write_delivery,
)
from prometheus.data.ingest.ib_pacing import HistoryRequest, PacingLimiter
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic.profiles import market_config
from prometheus.execution.brokers.ib.client import load_ib_async, open_connection, stock
from prometheus.execution.brokers.ib.config import IbConfig
from prometheus_assets.definitions import Flow, job_name
from prometheus_assets.ingestion import REPORT_METADATA
from prometheus_assets.launch import COMMAND_TAG, MARKET_TAG, partition_range, run_job
from prometheus_cli import flows
from prometheus_cli._common import date_option, run, settings, warn_unless_loopback

if TYPE_CHECKING:
    import ib_async

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
    market: str = typer.Option(
        "US_EQ", "--market", help="US_EQ, EU_EQ, JP_EQ or FX_GLOB (currency pairs; --names at most 105)."
    ),
) -> None:
    """Generate (files kept under <data_root>/vendor/<market>) and ingest through the market's ingestion job."""
    s = settings()

    def go() -> None:
        m = parse_market(market)
        # The market's defaults (FX_GLOB: currency-like volatility) under the command line's values.
        config = market_config(m, {"n_names": names, "years": years, "seed": seed}, source="command-line options")
        flows.ingest_synthetic(s, config, typer.echo, m)

    run(go)


@app.command("reference", help="Ingest the S&P 500, NASDAQ and Fama-French series shipped with the arch package.")
def reference() -> None:
    """Benchmark and factor series for US_EQ, through the reference job."""
    s = settings()
    run(lambda: flows.ingest_reference(s, typer.echo))


#: IB errors the historical fetch tells apart: no security definition; historical-data service message.
NO_SECURITY_DEFINITION, HISTORICAL_DATA_ERROR = 200, 162
#: Seconds one reqHistoricalData may take (a year of daily bars takes IB a few seconds; IbConfig's request
#: timeout is sized for order requests).
HISTORY_TIMEOUT_S = 120.0
IB_HELP = (
    "Fetch IBKR daily bars (TRADES, 1 day, regular hours) through IB Gateway / TWS with IB's pacing rules, keep "
    "them as a vendor delivery under <data root>/vendor/ib/ and ingest it through the market's ingestion job (the "
    "QC, quarantine and point-in-time rules of `ingest vendor`)."
)


class IbBarFeed:
    """The :class:`~prometheus.data.ingest.ib_history.BarFeed` of an ``ib_async`` connection (stocks)."""

    def __init__(self, ib: ib_async.IB, exchange: str, currency: str, timeout_s: float = HISTORY_TIMEOUT_S) -> None:
        self._ib, self._exchange, self._currency, self._timeout_s = ib, exchange, currency, timeout_s
        self._contracts: dict[str, Any] = {}
        # Failed requests raise RequestError (code, message) instead of returning an empty list.
        ib.RaiseRequestErrors = True

    def describe(self, symbol: str) -> IbInstrument:
        """Qualify ``symbol`` as a stock (exchange and currency of the connection)."""
        lib = load_ib_async()
        try:
            details = self._ib.reqContractDetails(stock(symbol, self._exchange, self._currency))
        except lib.RequestError as exc:
            if exc.code == NO_SECURITY_DEFINITION:
                raise UnknownSymbolError(f"IB has no stock {symbol}", field="--symbols", value=symbol) from None
            raise DataError(f"IB error {exc.code} for {symbol}: {exc.message}", field="--symbols") from None
        if not details:
            raise UnknownSymbolError(f"IB has no stock {symbol}", field="--symbols", value=symbol)
        if len(details) > 1:
            found = ", ".join(f"{d.contract.primaryExchange}:{d.contract.conId}" for d in details)
            raise DataError(f"{symbol} is ambiguous at IB ({found})", field="--symbols", value=symbol)
        contract = details[0].contract
        self._contracts[symbol] = contract
        return IbInstrument(symbol, details[0].longName or symbol, contract.primaryExchange or contract.exchange,
                            contract.currency or self._currency)  # fmt: skip

    def daily_bars(self, request: HistoryRequest) -> list[IbBar]:
        """One reqHistoricalData call; a pacing violation raises, "no data" is no bars."""
        lib = load_ib_async()
        # The next day 00:00 UTC is after the close of ``request.end`` on every market we trade.
        end = datetime.combine(request.end + timedelta(days=1), time(0), tzinfo=UTC)
        call = self._ib.reqHistoricalDataAsync(
            self._contracts[request.symbol], endDateTime=end, durationStr=f"{request.days} D",
            barSizeSetting=request.bar_size, whatToShow=request.what_to_show, useRTH=request.use_rth,
            formatDate=1, timeout=0,
        )  # fmt: skip
        try:
            # Our own timeout: ib_async's returns an empty list on timeout, which would read as "no bars".
            bars = lib.util.run(asyncio.wait_for(call, self._timeout_s))
        except lib.RequestError as exc:
            text = exc.message.lower()
            if exc.code == HISTORICAL_DATA_ERROR and "pacing violation" in text:
                raise PacingViolation(f"IB error 162: {exc.message}", value=request.symbol) from None
            if exc.code == HISTORICAL_DATA_ERROR and "returned no data" in text:
                return []
            raise DataError(f"IB error {exc.code} for {request.symbol} bars ending {request.end}: {exc.message}",
                            field="--symbols", value=request.symbol) from None  # fmt: skip
        except TimeoutError:
            raise DataError(f"IB sent no {request.symbol} bars ending {request.end} within {self._timeout_s:.0f}s",
                            field="--symbols", value=request.symbol) from None  # fmt: skip
        return [IbBar(b.date, b.open, b.high, b.low, b.close, float(b.volume)) for b in bars]


def last_known_session(calendar: TradingCalendar, market: Market, now: datetime, bar_delay: timedelta) -> date:
    """The last session whose bar is known at ``now`` (close + bar delay): the default end of a fetch (an earlier
    end never asks IB for a bar still forming)."""
    days = calendar.sessions(market, (now - timedelta(days=14)).date(), now.date())
    known = [d for d in days if calendar.close_at(market, d) + bar_delay <= now]
    if not known:
        raise DataError(f"no session of {market.value} closed in the 14 days before {now}", field="--end")
    return known[-1]


def ib_connection(s: Settings, client_id: int | None) -> IbConfig:
    """The IB connection of the settings for a read-only fetch (any mode: history is not trading)."""
    return IbConfig(mode=Mode.LIVE if s.mode is Mode.LIVE else Mode.PAPER, host=s.ib_host, port=s.effective_ib_port,
                    client_id=s.ib_client_id if client_id is None else client_id, account=s.ib_account)  # fmt: skip


def ingest_ib_history(
    s: Settings, market: Market, symbols: list[str], start: date, end: date | None, client_id: int | None
) -> Path:
    """Fetch, keep the delivery, and ingest it through the market's ingestion job; returns the delivery folder."""
    calendar = get_calendar()
    end = end or last_known_session(calendar, market, utc_now(), timedelta(seconds=s.bar_delay_seconds))
    if end < start:
        raise DataError(f"--end {end} is before --start {start}", field="--end")
    _check_history(s, start)  # before asking IB for anything
    config = ib_connection(s, client_id)
    # The TWS API is plain, unauthenticated TCP: a gateway elsewhere should be reached through a tunnel.
    warn_unless_loopback(config.host, "connecting to IB", "the TWS API is unencrypted; prefer an SSH tunnel to a "
                         "gateway on 127.0.0.1")  # fmt: skip
    ib = open_connection(config, lambda _ib: None)
    try:
        feed = IbBarFeed(ib, config.exchange, config.currency)
        history = fetch_history(feed, market, symbols, start, end, PacingLimiter(), typer.echo)
        received_at = utc_now()  # every bar has arrived: the delivery's ingestion instant
    finally:
        ib.disconnect()
    directory = write_delivery(history, ib_delivery_dir(s.data_path, market, received_at), received_at)
    typer.echo(f"ib delivery: {directory} ({history.bar_count} bar(s), {history.requests} request(s), "
               f"{history.violations} pacing violation(s), {history.waited_s:.0f}s paced)")  # fmt: skip
    if history.bar_count == 0:
        raise DataError(f"IB sent no bar for {', '.join(symbols)} between {start} and {end}", field="--start/--end")
    run_ib_ingestion(s, directory, market, received_at)
    return directory


def _check_history(s: Settings, first: date) -> None:
    if first < s.history_start:
        raise ConfigError(f"the bars start on {first}, before the partitions start ({s.history_start}); set "
                          f"PROMETHEUS_HISTORY_START={first.replace(day=1)} or earlier",
                          setting="PROMETHEUS_HISTORY_START")  # fmt: skip


def run_ib_ingestion(s: Settings, directory: Path, market: Market, received_at: datetime) -> None:
    """The market's ingestion job on an IB delivery, as ``ingest vendor`` runs it, over the partitions from its first
    bar to the one holding ``received_at``.

    A bar that corrects a stored one is known at ``received_at``; a partition publishes the facts known inside its
    window, so the run must reach that instant's partition (``ingest vendor`` stops at the delivery's last bar,
    which a morning fetch ending yesterday would miss).
    """
    first, last = delivery_dates(directory)
    _check_history(s, first)
    launcher = flows.Launcher.for_market(s, market, typer.echo)
    store = HistoricalStore.from_settings(s)
    # The market's row once (equal-weighted market); a benchmark set by `ingest vendor --benchmark` stays.
    if store.read(Table.MARKETS, market=market).is_empty():
        publish_market(store, market, None)
    job = job_name(market, Flow.INGESTION)
    received_on = received_at.astimezone(get_calendar().tz(market)).date()
    span = partition_range(launcher.defs.resolve_job_def(job).partitions_def, first, max(last, received_on))
    if span is None:
        raise DataError(f"{directory}: no partition covers {first}..{last}", file=str(directory))
    run_config = {"ops": {f"{market.value.lower()}_vendor_ingest": {"config": {"vendor_dir": str(directory)}}}}
    report = run_job(launcher.defs, launcher.instance, job, partitions=span, run_config=run_config, echo=typer.echo,
                     tags={COMMAND_TAG: "ingest ib", MARKET_TAG: market.value})  # fmt: skip
    for line in str(report.metadata(f"{market.value.lower()}/prices_daily")[REPORT_METADATA]).splitlines():
        typer.echo(line)


@app.command("ib", help=IB_HELP)
def ib(
    symbols: str = typer.Option(..., "--symbols", help="IB symbols, comma-separated (AAPL,MSFT)."),
    start: date = typer.Option(..., "--start", parser=date_option, metavar="YYYY-MM-DD", help="First session."),
    end: date = typer.Option(
        None, "--end", parser=date_option, metavar="YYYY-MM-DD", help="Last session; default the last one closed."
    ),
    market: str = typer.Option("US_EQ", "--market", help="Market of the symbols (US_EQ, ...)."),
    client_id: int = typer.Option(
        None, "--client-id", help="API client id (default PROMETHEUS_IB_CLIENT_ID); unique per connection."
    ),
) -> None:
    """Fetch daily bars from IB Gateway, write them as a vendor delivery, then ingest it like ``ingest vendor``."""
    s = settings()
    names = list(dict.fromkeys(x.strip() for x in symbols.split(",") if x.strip()))
    run(lambda: ingest_ib_history(s, parse_market(market), names, start, end, client_id))
