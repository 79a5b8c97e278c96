"""IB daily bars as a vendor delivery: request plan, paced fetch with retries, the files, and QC on ingestion."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.ingest import delivery_received_at
from prometheus.data.ingest.ib_history import (
    IbBar,
    IbInstrument,
    PacingViolation,
    UnknownSymbolError,
    fetch_history,
    ib_delivery_dir,
    request_plan,
    write_delivery,
)
from prometheus.data.ingest.ib_pacing import HistoryRequest, PacingLimiter, PacingRules
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from tests.support.ingest_kit import SESSIONS, clean_prices, ingest, utc
from tests.unit.data.ingest.test_ib_pacing import FakeClock

RECEIVED = utc(2024, 4, 1, 22, 0, 5)


class TableFeed:
    """A BarFeed answering from bars by symbol; refuses the first ``violations`` requests for pacing."""

    def __init__(self, bars: dict[str, list[IbBar]], violations: int = 0) -> None:
        self.bars, self.violations = bars, violations
        self.requests: list[HistoryRequest] = []

    def describe(self, symbol: str) -> IbInstrument:
        if symbol not in self.bars:
            raise UnknownSymbolError(f"IB has no stock {symbol}")
        return IbInstrument(symbol, f"{symbol} INC", "NYSE", "USD")

    def daily_bars(self, request: HistoryRequest) -> list[IbBar]:
        self.requests.append(request)
        if self.violations:
            self.violations -= 1
            raise PacingViolation("IB error 162: Historical data request pacing violation")
        first = request.end - timedelta(days=request.days - 1)
        # Like IB, one bar beyond the range asked: the fetch keeps each bar in the request it belongs to.
        return [b for b in self.bars[request.symbol] if first - timedelta(days=3) <= b.session <= request.end]


def _bars(symbols: tuple[str, ...] = ("AAA", "BBB")) -> dict[str, list[IbBar]]:
    frame = clean_prices(symbols=symbols)
    return {
        s: [IbBar(date.fromisoformat(r["date"]), r["open"], r["high"], r["low"], r["close"], float(r["volume"]))
            for r in frame.filter(pl.col("symbol") == s).iter_rows(named=True)]
        for s in symbols
    }  # fmt: skip


def _limiter(**rules: float) -> tuple[PacingLimiter, FakeClock]:
    clock = FakeClock()
    return PacingLimiter(PacingRules(**rules), clock=clock, sleep=clock.sleep), clock


def test_request_plan_when_range_spans_years_covers_it_in_year_long_requests() -> None:
    plan = request_plan("AAA", date(2022, 3, 1), date(2024, 6, 30))
    assert [(r.end, r.days) for r in plan] == [(date(2023, 2, 28), 365), (date(2024, 2, 28), 365),
                                               (date(2024, 6, 30), 123)]  # fmt: skip
    assert all(r.what_to_show == "TRADES" and r.bar_size == "1 day" for r in plan)


def test_fetch_when_symbols_known_returns_each_session_once() -> None:
    bars = _bars()
    feed = TableFeed(bars)
    limiter, _ = _limiter()
    history = fetch_history(feed, Market.US_EQ, ["AAA", "BBB"], SESSIONS[0], SESSIONS[-1], limiter, echo=print)
    assert history.bars == bars
    assert history.requests == 2
    assert history.violations == 0


def test_fetch_when_pacing_violation_retries_after_backoff() -> None:
    feed = TableFeed(_bars(("AAA",)), violations=2)
    limiter, clock = _limiter(backoff_s=15.0)
    history = fetch_history(feed, Market.US_EQ, ["AAA"], SESSIONS[0], SESSIONS[-1], limiter, echo=print)
    assert history.violations == 2
    assert history.requests == 3
    assert len(history.bars["AAA"]) == len(SESSIONS)
    # Backoffs of 15 s then 30 s; the identical retry also keeps the 15 s rule (already met by the backoff).
    assert clock.sleeps == [15.0, 30.0]
    assert len(feed.requests) == 3
    assert len(set(feed.requests)) == 1


def test_fetch_when_pacing_violations_persist_fails_naming_the_symbol() -> None:
    feed = TableFeed(_bars(("AAA",)), violations=10)
    limiter, clock = _limiter(max_retries=2, backoff_s=1.0)
    with pytest.raises(PacingViolation, match="AAA.*pacing 3 time"):
        fetch_history(feed, Market.US_EQ, ["AAA"], SESSIONS[0], SESSIONS[-1], limiter, echo=print)
    # Each retry waits its backoff, then whatever the 15 s rule for an identical request still asks.
    assert clock.sleeps == [1.0, 14.0, 2.0, 13.0]


def test_fetch_when_symbol_unknown_names_it_and_fetches_nothing() -> None:
    feed = TableFeed(_bars(("AAA",)))
    limiter, _ = _limiter()
    with pytest.raises(UnknownSymbolError, match="IB has no stock NOPE") as caught:
        fetch_history(feed, Market.US_EQ, ["AAA", "NOPE"], SESSIONS[0], SESSIONS[-1], limiter, echo=print)
    assert caught.value.value == ["NOPE"]
    assert feed.requests == []


def test_delivery_when_ingested_loads_bars_and_quarantines_a_bad_one(tmp_path: Path) -> None:
    bars = _bars()
    bad = bars["BBB"][10]
    bars["BBB"][10] = IbBar(bad.session, bad.open, bad.low - 1.0, bad.low, bad.close, bad.volume)  # high < low
    limiter, _ = _limiter()
    history = fetch_history(TableFeed(bars), Market.US_EQ, ["AAA", "BBB"], SESSIONS[0], SESSIONS[-1], limiter,
                            echo=print)  # fmt: skip
    directory = write_delivery(history, ib_delivery_dir(tmp_path / "data", Market.US_EQ, RECEIVED), RECEIVED)
    assert directory == tmp_path / "data" / "vendor" / "ib" / "us_eq" / "20240401T220005.000000Z"
    assert sorted(p.name for p in directory.iterdir()) == ["corporate_actions.csv", "delivery.json",
                                                           "instruments.csv", "prices.csv"]  # fmt: skip
    manifest = json.loads((directory / "delivery.json").read_text())
    assert manifest["what_to_show"] == "TRADES"
    assert manifest["bars"] == 2 * len(SESSIONS)
    assert delivery_received_at(directory) == RECEIVED
    names = pl.read_csv(directory / "instruments.csv")
    assert names.rows() == [("AAA", "AAA INC", "XNYS", "USD"), ("BBB", "BBB INC", "XNYS", "USD")]

    store = HistoricalStore(tmp_path / "lake")
    report = ingest(store, directory)
    assert report.loaded["prices_daily"] == 2 * len(SESSIONS) - 1
    quarantine = store.read(Table.QUARANTINE)
    assert quarantine.select("symbol", "date", "rule").rows() == [("BBB", bad.session, "high_low_inconsistent")]
    assert "high" in quarantine["reason"][0]
    # Stamped with the delivery's receipt, not the moment it was ingested.
    assert quarantine["ingested_at"][0] == RECEIVED
    prices = store.read(Table.PRICES_DAILY)
    assert prices.height + quarantine.height == 2 * len(SESSIONS)  # nothing lost


def test_write_delivery_when_folder_holds_files_refuses(tmp_path: Path) -> None:
    limiter, _ = _limiter()
    history = fetch_history(TableFeed(_bars(("AAA",))), Market.US_EQ, ["AAA"], SESSIONS[0], SESSIONS[5], limiter,
                            echo=print)  # fmt: skip
    write_delivery(history, tmp_path / "d", RECEIVED)
    with pytest.raises(DataError, match="never overwritten"):
        write_delivery(history, tmp_path / "d", RECEIVED)


def test_delivery_received_at_when_manifest_unreadable_names_the_file(tmp_path: Path) -> None:
    assert delivery_received_at(tmp_path) is None  # no manifest: the ingestion uses now
    (tmp_path / "delivery.json").write_text('{"received_at": "yesterday"}')
    with pytest.raises(DataError, match=r"delivery\.json.*received_at"):
        delivery_received_at(tmp_path)
