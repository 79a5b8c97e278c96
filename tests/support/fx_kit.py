"""A tiny FX_GLOB market and per-market backtest books with round figures, for the multi-currency view's tests.

FX_GLOB sessions 2024-03-04 .. 2024-03-08 (Mon-Fri, before the US daylight-saving switch): each bar is known at
17:00 New York + 5 min = 22:05 UTC of its session. Closes (QUOTE per 1 BASE):

    session     EURUSD  USDJPY   (JPY->USD = 1/USDJPY)
    2024-03-04  1.10    100      0.01
    2024-03-05  1.20    125      0.008
    2024-03-06  1.25    125      0.008
    2024-03-07  1.30    100      0.01
    2024-03-08  1.40    80       0.0125

Books (``backtest_daily`` of experiment :data:`EXPERIMENT`) on sessions 2024-03-05 .. 2024-03-08, equity in the
market's currency, see :data:`BOOKS`. A JP_EQ close (15:00 Tokyo = 06:00 UTC) or EU_EQ close (17:30 Berlin =
16:30 UTC) of day D is before the FX close of D, so it converts with the FX close of D - 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import ingest_vendor
from prometheus.data.store import HistoricalStore
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables import backtest_daily, cash, positions
from tests.support.ingest_kit import write_vendor

CAL = get_calendar()
BAR_DELAY = timedelta(minutes=5)
FX_SESSIONS = [date(2024, 3, d) for d in (4, 5, 6, 7, 8)]
#: Closes per pair, one per FX session.
FX: dict[str, list[float]] = {"EURUSD": [1.10, 1.20, 1.25, 1.30, 1.40], "USDJPY": [100.0, 125.0, 125.0, 100.0, 80.0]}
#: When the delivery is ingested: after every session (bars are then known at their close + BAR_DELAY).
INGESTED = datetime(2024, 4, 2, tzinfo=UTC)

EXPERIMENT = "fx-test"
SESSIONS = [date(2024, 3, d) for d in (5, 6, 7, 8)]
#: market -> (equity per session, cash, gross exposure, net exposure): all in the market's currency.
BOOKS: dict[Market, tuple[list[float], float, float, float]] = {
    Market.US_EQ: ([1000.0, 1010.0, 1020.0, 1030.0], 100.0, 1.0, 0.9),
    Market.EU_EQ: ([1000.0, 1000.0, 1100.0, 1100.0], 0.0, 1.2, 1.0),
    Market.JP_EQ: ([100_000.0, 110_000.0, 110_000.0, 120_000.0], 10_000.0, 0.9, 0.5),
}


def fx_prices(fx: Mapping[str, list[float]] = FX, sessions: list[date] = FX_SESSIONS) -> pl.DataFrame:
    """Vendor ``prices`` rows of the pairs (open = high = low = close)."""
    rows = [
        {"date": d.isoformat(), "symbol": sym, "open": c, "high": c, "low": c, "close": c, "volume": 0}
        for sym, closes in fx.items()
        for d, c in zip(sessions, closes, strict=True)
    ]
    return pl.DataFrame(rows)


def fx_names(symbols: list[str], listed: date = FX_SESSIONS[0]) -> pl.DataFrame:
    """Vendor ``instruments`` rows of the pairs: currency is the QUOTE currency (the FX_GLOB convention)."""
    return pl.DataFrame(
        {
            "symbol": symbols,
            "name": [f"{s[:3]}/{s[3:]}" for s in symbols],
            "currency": [s[3:] for s in symbols],
            "listed": listed.isoformat(),
        }  # fmt: skip
    )


def fx_store(
    root: Path,
    fx: Mapping[str, list[float]] = FX,
    corrections: Sequence[tuple[datetime, pl.DataFrame]] = (),
    sessions: list[date] = FX_SESSIONS,
) -> HistoricalStore:
    """A lake under ``root`` holding the FX_GLOB delivery of ``fx``, then each correction delivery (prices rows of
    sessions already delivered) ingested at its instant, which is when it becomes known."""
    store = HistoricalStore(root / "lake")
    write_vendor(root / "vendor" / "fx", prices=fx_prices(fx, sessions), names=fx_names(list(fx), sessions[0]))
    ingest_vendor(store, root / "vendor" / "fx", Market.FX_GLOB, bar_delay=BAR_DELAY, calendar=CAL,
                  ingested_at=INGESTED)  # fmt: skip
    for k, (at, prices) in enumerate(corrections):
        folder = root / "vendor" / f"fx_fix{k}"
        write_vendor(folder, prices=prices, names=fx_names(sorted(set(prices["symbol"]))))
        ingest_vendor(store, folder, Market.FX_GLOB, bar_delay=BAR_DELAY, calendar=CAL, ingested_at=at)
    return store


def seed_books(store: RuntimeStore, books: Mapping[Market, tuple[list[float], float, float, float]] = BOOKS) -> None:
    """Migrate ``store`` and write the ``backtest_daily`` rows of :data:`BOOKS` under :data:`EXPERIMENT`."""
    store.upgrade()
    rows = [
        {"experiment": EXPERIMENT, "market": m.value, "session": s, "config_version": "v1",
         "known_at": CAL.close_at(m, s), "equity": e, "cash": cash, "gross_exposure": gross, "net_exposure": net}
        for m, (equity, cash, gross, net) in books.items()
        for s, e in zip(SESSIONS, equity, strict=True)
    ]  # fmt: skip
    with store.begin() as conn:
        conn.execute(sa.delete(backtest_daily).where(backtest_daily.c.experiment == EXPERIMENT))
    store.upsert(backtest_daily, rows)


#: The PAPER/LIVE account's JP_EQ book: one name, its closes on SESSIONS, shares held and cash per session.
JP_NAME = "7203"
JP_CLOSES = [2000.0, 2100.0, 2050.0, 2200.0]
JP_SHARES = [100.0, 100.0, 200.0, 200.0]
JP_CASH = [100_000.0, 100_000.0, -5_000.0, -5_000.0]


def add_jp_bars(store: HistoricalStore, root: Path) -> None:
    """Ingest JP_EQ daily bars of :data:`JP_NAME` on :data:`SESSIONS` into ``store``."""
    prices = pl.DataFrame(
        [
            {"date": d.isoformat(), "symbol": JP_NAME, "open": c, "high": c, "low": c, "close": c, "volume": 1000}
            for d, c in zip(SESSIONS, JP_CLOSES, strict=True)
        ]  # fmt: skip
    )
    names = pl.DataFrame({"symbol": [JP_NAME], "name": ["Toyota"], "currency": ["JPY"],
                          "listed": [SESSIONS[0].isoformat()]})  # fmt: skip
    write_vendor(root / "vendor" / "jp", prices=prices, names=names)
    ingest_vendor(store, root / "vendor" / "jp", Market.JP_EQ, bar_delay=BAR_DELAY, calendar=CAL,
                  ingested_at=INGESTED)  # fmt: skip


def seed_account(store: RuntimeStore, experiment: str) -> None:
    """``cash`` (no recorded equity) and ``positions`` snapshots of the JP_EQ account under ``experiment``."""
    ids = {"market": Market.JP_EQ.value, "experiment": experiment, "config_version": "v1"}
    store.upsert(cash, [ids | {"session": s, "currency": "JPY", "balance": c, "equity": None,
                               "as_of": CAL.close_at(Market.JP_EQ, s)}
                        for s, c in zip(SESSIONS, JP_CASH, strict=True)])  # fmt: skip
    store.upsert(positions, [ids | {"session": s, "instrument": JP_NAME, "quantity": q, "cost_basis": q * 2000.0,
                                    "as_of": CAL.close_at(Market.JP_EQ, s)}
                             for s, q in zip(SESSIONS, JP_SHARES, strict=True)])  # fmt: skip
