"""IBKR historical daily bars as a vendor delivery: fetch through a :class:`BarFeed`, paced, and write the files.

The feed (an ``ib_async`` adapter at the edge, a fake in tests) answers one reqHistoricalData call at a time; this
module plans the calls, keeps IB's pacing rules (:mod:`~prometheus.data.ingest.ib_pacing`), retries a pacing
violation after a backoff, and writes what came back in the vendor layout (``instruments.csv``, ``prices.csv``, an
empty ``corporate_actions.csv`` and ``delivery.json``) so that the vendor ingestion, with its QC, quarantine and
point-in-time rules, publishes it. Nothing here publishes.

Bars are ``TRADES``: IB's daily trade bars, adjusted for splits as of the request, not for dividends. IB offers
no unadjusted daily bars; ``ADJUSTED_LAST`` would also fold dividends into the prices, while the ingestion wants
prices as traded and applies corporate actions itself, point in time. So the delivery has no corporate actions
(the splits are already in the bars and must not be applied twice); see ``docs/ingestion.md``.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.ingest.api import DELIVERY_MANIFEST, VENDOR_FOLDER
from prometheus.data.ingest.ib_pacing import HistoryRequest, PacingLimiter

_log = logging.getLogger(__name__)

#: Calendar days one request covers at most: IB takes durations above a year only in whole years.
MAX_REQUEST_DAYS = 365
#: The sub-folder of ``<data_root>/vendor`` that keeps the IB deliveries, one folder per fetch.
IB_FOLDER = "ib"
#: IB's primary exchange codes and the MIC the vendor layout uses (others are written as IB names them).
EXCHANGE_MIC = {"NYSE": "XNYS", "NASDAQ": "XNAS", "ISLAND": "XNAS", "ARCA": "ARCX", "AMEX": "XASE", "BATS": "BATS",
                "IBIS": "XETR", "LSE": "XLON", "TSEJ": "XTKS"}  # fmt: skip
PRICE_COLUMNS = ("date", "symbol", "open", "high", "low", "close", "volume")
INSTRUMENT_COLUMNS = ("symbol", "name", "exchange", "currency")
ACTION_COLUMNS = ("date", "symbol", "action", "value", "announced_at")


class UnknownSymbolError(DataError):
    """IB has no stock of that symbol (error 200: no security definition)."""


class PacingViolation(DataError):
    """IB refused a request under its pacing rules (error 162, "Historical data request pacing violation")."""


@dataclass(frozen=True)
class IbInstrument:
    """What IB's contract details say about a symbol."""

    symbol: str
    name: str
    exchange: str
    currency: str


@dataclass(frozen=True)
class IbBar:
    """One daily bar as IB sent it (prices as traded, split-adjusted as of the request)."""

    session: date
    open: float
    high: float
    low: float
    close: float
    volume: float


class BarFeed(Protocol):
    """The two calls the fetch needs from IB."""

    def describe(self, symbol: str) -> IbInstrument:
        """The contract of ``symbol``; raises :class:`UnknownSymbolError` when IB does not know it."""
        ...

    def daily_bars(self, request: HistoryRequest) -> list[IbBar]:
        """The bars of one request; raises :class:`PacingViolation` on IB error 162 for pacing."""
        ...


@dataclass
class IbHistory:
    """What one fetch received."""

    market: Market
    start: date
    end: date
    instruments: list[IbInstrument]
    bars: dict[str, list[IbBar]]
    requests: int = 0
    violations: int = 0
    waited_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def bar_count(self) -> int:
        """Bars received over all symbols."""
        return sum(len(b) for b in self.bars.values())


def request_plan(symbol: str, start: date, end: date, max_days: int = MAX_REQUEST_DAYS) -> list[HistoryRequest]:
    """The requests covering ``[start, end]`` for ``symbol``, oldest first, each at most ``max_days`` long."""
    if end < start:
        raise DataError(f"the range ends ({end}) before it starts ({start})", field="--start/--end")
    out = []
    first = start
    while first <= end:
        last = min(first + timedelta(days=max_days - 1), end)
        out.append(HistoryRequest(symbol, last, (last - first).days + 1))
        first = last + timedelta(days=1)
    return out


def fetch_history(
    feed: BarFeed,
    market: Market,
    symbols: Sequence[str],
    start: date,
    end: date,
    limiter: PacingLimiter,
    echo: Callable[[str], None] = _log.info,
) -> IbHistory:
    """Describe every symbol, then fetch its daily bars over ``[start, end]``, paced.

    Raises
    ------
    UnknownSymbolError
        IB knows none of the named symbols (every unknown one is named); nothing is fetched.
    PacingViolation
        A request was still refused after ``limiter.rules.max_retries`` backoffs.
    """
    if not symbols:
        raise DataError("no symbol to fetch", field="--symbols")
    instruments, unknown = [], []
    for symbol in symbols:
        try:
            instruments.append(feed.describe(symbol))
        except UnknownSymbolError:
            unknown.append(symbol)
    if unknown:
        raise UnknownSymbolError(
            f"IB has no stock {', '.join(unknown)} ({market.value}): check the symbol(s) and the exchange and "
            "currency of the IB connection; nothing was fetched",
            field="--symbols",
            value=unknown,
        )
    history = IbHistory(market, start, end, instruments, {})
    for symbol in symbols:
        bars: dict[date, IbBar] = {}
        for request in request_plan(symbol, start, end):
            first = request.end - timedelta(days=request.days - 1)
            for bar in _paced(feed, request, limiter, history, echo):
                if first <= bar.session <= request.end:  # IB may pad a duration; each bar belongs to one request
                    bars[bar.session] = bar
        history.bars[symbol] = [bars[d] for d in sorted(bars)]
        echo(f"ib {symbol}: {len(bars)} bar(s) {start}..{end}")
    history.waited_s = limiter.waited_s
    return history


def _paced(
    feed: BarFeed, request: HistoryRequest, limiter: PacingLimiter, history: IbHistory, echo: Callable[[str], None]
) -> list[IbBar]:
    attempt, pause = 0, 0.0
    while True:
        limiter.acquire(request)
        history.requests += 1
        try:
            return feed.daily_bars(request)
        except PacingViolation as exc:
            history.violations += 1
            attempt += 1
            if attempt > limiter.rules.max_retries:
                raise PacingViolation(
                    f"IB refused {request.symbol} bars ending {request.end} for pacing {attempt} time(s), the last "
                    f"after a {pause:.0f}s backoff: {exc}; another client of this login may be requesting history, "
                    "retry later",
                    field="--symbols",
                    value=request.symbol,
                ) from None
            pause = limiter.backoff(attempt)
            echo(f"ib {request.symbol}: pacing violation (IB error 162), retry {attempt} after {pause:.0f}s")


def ib_delivery_dir(data_root: Path, market: Market, received_at: datetime) -> Path:
    """``<data_root>/vendor/ib/<market>/<received_at, UTC, basic ISO>``: one folder per fetch, kept."""
    stamp = received_at.strftime("%Y%m%dT%H%M%S.%fZ")
    return Path(data_root) / VENDOR_FOLDER / IB_FOLDER / market.value.lower() / stamp


def write_delivery(history: IbHistory, directory: Path, received_at: datetime) -> Path:
    """Write ``history`` as a vendor delivery in ``directory`` (created; must not hold files) and return it.

    ``delivery.json`` records the source, the request and ``received_at``: the ingestion instant of the delivery
    (corrections are known then, and nothing dated after it loads).

    Raises
    ------
    DataError
        ``directory`` already holds files (a delivery is never overwritten).
    """
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise DataError("the folder already holds a delivery; deliveries are never overwritten", file=str(directory))
    directory.mkdir(parents=True, exist_ok=True)
    _write_csv(directory / "instruments.csv", INSTRUMENT_COLUMNS,
               ([i.symbol, i.name, EXCHANGE_MIC.get(i.exchange, i.exchange), i.currency]
                for i in history.instruments))  # fmt: skip
    rows = (
        [b.session.isoformat(), symbol, _number(b.open), _number(b.high), _number(b.low), _number(b.close),
         _number(b.volume)]
        for symbol, bars in history.bars.items()
        for b in bars
    )  # fmt: skip
    _write_csv(directory / "prices.csv", PRICE_COLUMNS, rows)
    # IB's TRADES bars are split-adjusted already: no action may be applied to them (the module docstring).
    _write_csv(directory / "corporate_actions.csv", ACTION_COLUMNS, [])
    manifest = {
        "source": "ib",
        "market": history.market.value,
        "what_to_show": "TRADES",
        "bar_size": "1 day",
        "use_rth": True,
        "symbols": [i.symbol for i in history.instruments],
        "start": history.start.isoformat(),
        "end": history.end.isoformat(),
        "bars": history.bar_count,
        "requests": history.requests,
        "pacing_violations": history.violations,
        "received_at": received_at.isoformat().replace("+00:00", "Z"),
    }
    (directory / DELIVERY_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return directory


def _write_csv(path: Path, header: Sequence[str], rows: object) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)  # type: ignore[arg-type]


def _number(value: float) -> str:
    # Whole numbers without ".0" (volumes), others as Python's shortest repr: exactly what IB sent.
    return str(int(value)) if float(value).is_integer() else repr(float(value))
