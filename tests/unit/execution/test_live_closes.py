"""last_close_quotes: the fallback prices of PAPER / LIVE execution, read point in time from the lake."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl

from prometheus.data.store import HistoricalStore
from prometheus.execution.live import last_close_quotes
from prometheus.execution.risk_gate import Quote
from tests.support.ingest_kit import CAL, MARKET, SESSIONS, clean_prices, close_at, ingest, write_vendor


def test_last_close_quotes_when_bars_known_gives_each_last_close_stamped_at_its_close(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    assert last_close_quotes(store, CAL, MARKET, ["AAA"], close_at(SESSIONS[-1])) == {}  # nothing ingested yet
    prices = clean_prices()
    ingest(store, write_vendor(tmp_path / "vendor", prices))
    last, before = SESSIONS[-1], SESSIONS[-2]

    def close(symbol: str, day: object) -> float:
        row = prices.filter((pl.col("symbol") == symbol) & (pl.col("date") == str(day)))
        return float(row["close"][0])

    after = last_close_quotes(store, CAL, MARKET, ["AAA", "BBB", "ZZZ"], close_at(last) + timedelta(hours=1))
    assert after == {"AAA": Quote(close("AAA", last), close_at(last)), "BBB": Quote(close("BBB", last), close_at(last))}
    # One minute after the close the bar is not known yet (bar delay 5 min): the session before is the last close.
    early = last_close_quotes(store, CAL, MARKET, ["AAA"], close_at(last) + timedelta(minutes=1))
    assert early == {"AAA": Quote(close("AAA", before), close_at(before))}
