"""IB daily bars through ib_async for real: the CLI's feed against the fake IB Gateway with paced history."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest

from prometheus.core.types import Market, Mode
from prometheus.data.ingest.ib_history import IbBar, PacingViolation, UnknownSymbolError, fetch_history
from prometheus.data.ingest.ib_pacing import HistoryRequest, PacingLimiter, PacingRules
from prometheus.execution.brokers.ib.client import open_connection
from prometheus.execution.brokers.ib.config import IbConfig
from prometheus_cli.ingest import IbBarFeed
from tests.support.fake_ib_gateway import FakeIbGateway, SymbolSpec
from tests.support.fake_ib_history import Bar, FakeHistory

SESSIONS = [date(2024, 3, d) for d in (4, 5, 6, 7, 8, 11, 12, 13, 14, 15)]
#: Fast pacing for the tests; the fake's identical-request gap is a little shorter than the client's, as a
#: client should keep a margin over the server's rule.
FAST = PacingRules(identical_gap_s=0.5, backoff_s=0.2)


def _bars(symbol: str, base: float) -> list[Bar]:
    return [Bar(d, base + k, base + k + 1.5, base + k - 1.0, base + k + 0.5, 1_000_000 + k) for k, d in
            enumerate(SESSIONS)]  # fmt: skip


@pytest.fixture
def gateway() -> Iterator[tuple[FakeIbGateway, FakeHistory]]:
    symbols = {"AAA": SymbolSpec(101, 50.0), "BBB": SymbolSpec(102, 80.0, primary_exchange="NYSE")}
    with FakeIbGateway(symbols) as gw:
        table = {"AAA": _bars("AAA", 50.0), "BBB": _bars("BBB", 80.0)}
        history = FakeHistory(table, identical_gap_s=0.4, per_contract_window_s=1.9).install(gw)
        yield gw, history


@pytest.fixture
def feed(gateway: tuple[FakeIbGateway, FakeHistory]) -> Iterator[IbBarFeed]:
    config = IbConfig(mode=Mode.PAPER, port=gateway[0].port, client_id=11)
    ib = open_connection(config, lambda _ib: None)
    try:
        yield IbBarFeed(ib, config.exchange, config.currency, timeout_s=10.0)
    finally:
        ib.disconnect()


def test_feed_when_gateway_serves_bars_returns_them_as_sent(
    gateway: tuple[FakeIbGateway, FakeHistory], feed: IbBarFeed
) -> None:
    history = fetch_history(feed, Market.US_EQ, ["AAA", "BBB"], SESSIONS[0], SESSIONS[-1], PacingLimiter(FAST),
                            echo=print)  # fmt: skip
    assert [i.exchange for i in history.instruments] == ["NASDAQ", "NYSE"]
    assert history.instruments[0].name == "AAA FAKE INC"
    expected = [IbBar(b.session, b.open, b.high, b.low, b.close, b.volume) for b in _bars("AAA", 50.0)]
    assert history.bars["AAA"] == expected
    sent = gateway[1].requests
    assert [(r.symbol, r.what_to_show, r.bar_size, r.duration, r.answer) for r in sent] == [
        ("AAA", "TRADES", "1 day", "12 D", "bars"), ("BBB", "TRADES", "1 day", "12 D", "bars")]  # fmt: skip
    assert sent[0].end == "20240316 00:00:00 UTC"


def test_feed_when_gateway_reports_pacing_violation_retries_after_backoff(
    gateway: tuple[FakeIbGateway, FakeHistory], feed: IbBarFeed
) -> None:
    gateway[1].force_violations = 1
    t0 = time.monotonic()
    history = fetch_history(feed, Market.US_EQ, ["AAA"], SESSIONS[0], SESSIONS[-1], PacingLimiter(FAST), echo=print)
    assert time.monotonic() - t0 >= FAST.backoff_s
    assert history.violations == 1
    assert len(history.bars["AAA"]) == len(SESSIONS)
    assert [r.answer for r in gateway[1].requests] == ["pacing", "bars"]


def test_feed_when_identical_request_comes_too_fast_gateway_refuses_with_162(feed: IbBarFeed) -> None:
    feed.describe("AAA")
    request = HistoryRequest("AAA", SESSIONS[-1], 12)
    assert len(feed.daily_bars(request)) == len(SESSIONS)
    with pytest.raises(PacingViolation, match="pacing violation"):
        feed.daily_bars(request)  # unpaced: the fake enforces IB's 15 s rule (0.4 s here)


def test_feed_when_symbol_unknown_raises_naming_it(feed: IbBarFeed) -> None:
    with pytest.raises(UnknownSymbolError, match="IB has no stock NOPE"):
        feed.describe("NOPE")


def test_feed_when_range_has_no_bars_returns_none(feed: IbBarFeed) -> None:
    feed.describe("BBB")
    assert feed.daily_bars(HistoryRequest("BBB", date(2023, 1, 31), 30)) == []


def test_fetch_when_many_requests_for_one_contract_limiter_keeps_the_gateway_pacing(
    gateway: tuple[FakeIbGateway, FakeHistory], feed: IbBarFeed
) -> None:
    # Five years and a day: six requests for AAA, one more than IB takes within 2 s.
    history = fetch_history(feed, Market.US_EQ, ["AAA"], date(2019, 3, 15), SESSIONS[-1], PacingLimiter(FAST),
                            echo=print)  # fmt: skip
    sent = gateway[1].requests
    assert len(sent) == 6
    assert [r.answer for r in sent] == ["bars"] * 6  # five ranges without bars (IB: "no data"), then March 2024
    assert history.violations == 0
    assert sent[5].at - sent[0].at >= 1.9  # the sixth waited for the first to leave the 2 s window
    assert len(history.bars["AAA"]) == len(SESSIONS)


def test_feed_when_six_requests_for_one_contract_come_at_once_gateway_refuses_the_sixth(feed: IbBarFeed) -> None:
    feed.describe("AAA")
    for k in range(5):
        feed.daily_bars(HistoryRequest("AAA", date(2024, 3, 15 - k), 12))
    with pytest.raises(PacingViolation):
        feed.daily_bars(HistoryRequest("AAA", date(2024, 3, 8), 12))
