"""Historical daily bars for the fake IB Gateway: reqHistoricalData (msg 20) → historicalData (msg 17), paced.

Install on a :class:`~tests.support.fake_ib_gateway.FakeIbGateway` with :meth:`FakeHistory.install`. Requests are
answered from a bar table per symbol; requests that break IB's pacing rules (60 in 10 minutes, an identical one
within 15 s, six for one contract and tick type within 2 s) get error 162 with IB's pacing-violation text, and
``force_violations`` makes the next requests fail that way whatever their pace.

Wire layouts at server version 176, as ``ib_async`` writes and reads them:

- reqHistoricalData: ``20, reqId, <12 contract fields: conId, symbol, secType, lastTradeDate, strike, right,
  multiplier, exchange, primaryExchange, currency, localSymbol, tradingClass>, includeExpired, endDateTime,
  barSize, durationStr, useRTH, whatToShow, formatDate, keepUpToDate, chartOptions`` (no version field);
- historicalData: ``17, reqId, startDate, endDate, nBars, then per bar: date, open, high, low, close, volume,
  WAP, barCount`` (no version field since server version 124).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from tests.support.fake_ib_gateway import FakeIbGateway

_REQ_HISTORICAL_DATA, _HISTORICAL_DATA, _ERR_MSG = 20, 17, 4
PACING_TEXT = "Historical Market Data Service error message:Historical data request pacing violation"
NO_DATA_TEXT = "Historical Market Data Service error message:HMDS query returned no data: {symbol}@SMART Trades"
NO_SECURITY_TEXT = "No security definition has been found for the request"


@dataclass(frozen=True)
class Bar:
    """A daily bar as the fake serves it."""

    session: date
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class Request:
    """A reqHistoricalData as received, with the fake's clock reading and its answer."""

    at: float
    req_id: int
    symbol: str
    end: str
    duration: str
    bar_size: str
    what_to_show: str
    answer: str  # "bars", "pacing", "no_data", "unknown"

    @property
    def identity(self) -> tuple[str, str, str, str, str]:
        """What makes two requests identical to IB (everything but the request id)."""
        return (self.symbol, self.end, self.duration, self.bar_size, self.what_to_show)


@dataclass
class FakeHistory:
    """Bars by symbol and the pacing IB enforces; ``requests`` logs every reqHistoricalData."""

    bars: Mapping[str, Sequence[Bar]]
    clock: Callable[[], float] = time.monotonic
    max_requests: int = 60
    window_s: float = 600.0
    identical_gap_s: float = 15.0
    per_contract_max: int = 5
    per_contract_window_s: float = 2.0
    force_violations: int = 0
    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, gateway: FakeIbGateway) -> FakeHistory:
        """Answer the gateway's reqHistoricalData from now on; returns self."""
        gateway.extra_handlers[_REQ_HISTORICAL_DATA] = self._on_request
        return self

    def _on_request(self, session: object, f: list[str]) -> None:
        req_id, symbol, end, bar_size, duration, what = int(f[1]), f[3], f[15], f[16], f[17], f[19]
        with self._lock:
            now = self.clock()
            answer = self._verdict(now, symbol, end, duration, bar_size, what)
            self.requests.append(Request(now, req_id, symbol, end, duration, bar_size, what, answer))
        send = session.send  # type: ignore[attr-defined]
        if answer == "pacing":
            send(_ERR_MSG, 2, req_id, 162, PACING_TEXT, "")
            return
        if answer == "unknown":
            send(_ERR_MSG, 2, req_id, 200, NO_SECURITY_TEXT, "")
            return
        bars = self._window(symbol, end, duration)
        if not bars:
            send(_ERR_MSG, 2, req_id, 162, NO_DATA_TEXT.format(symbol=symbol), "")
            return
        fields: list[object] = [_HISTORICAL_DATA, req_id, f"{bars[0].session:%Y%m%d}  00:00:00", end, len(bars)]
        for b in bars:
            wap = round((b.high + b.low + b.close) / 3, 4)
            fields += [f"{b.session:%Y%m%d}", b.open, b.high, b.low, b.close, b.volume, wap, 1000]
        send(*fields)

    def _verdict(self, now: float, symbol: str, end: str, duration: str, bar_size: str, what: str) -> str:
        if symbol not in self.bars:
            return "unknown"
        if self.force_violations > 0:
            self.force_violations -= 1
            return "pacing"
        # IB counts every request it received, refused ones included.
        identity = (symbol, end, duration, bar_size, what)
        recent = [r for r in self.requests if r.at > now - self.window_s]
        same = [r for r in self.requests if r.identity == identity and r.at > now - self.identical_gap_s]
        contract = [r for r in self.requests if (r.symbol, r.what_to_show) == (symbol, what)
                    and r.at > now - self.per_contract_window_s]  # fmt: skip
        if len(recent) >= self.max_requests or same or len(contract) >= self.per_contract_max:
            return "pacing"
        return "bars"

    def _window(self, symbol: str, end: str, duration: str) -> list[Bar]:
        # endDateTime as ib_async formats an aware datetime: "yyyymmdd HH:MM:SS UTC"; durations in days only.
        end_at = datetime.strptime(end.removesuffix(" UTC"), "%Y%m%d %H:%M:%S")
        days = int(duration.split()[0])
        assert duration.endswith(" D"), f"the fake serves durations in days, not {duration!r}"
        last = end_at.date() - timedelta(days=1) if end_at.time() == datetime.min.time() else end_at.date()
        first = last - timedelta(days=days - 1)
        return sorted((b for b in self.bars[symbol] if first <= b.session <= last), key=lambda b: b.session)
