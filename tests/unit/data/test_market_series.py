"""The market series: the configured benchmark, else the equal-weighted total return of the listed names."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from prometheus.core.errors import LookAheadError
from prometheus.data.ingest import publish_market
from prometheus.data.market_series import market_returns_known, market_returns_per_session, market_series
from prometheus.data.schema import UTC_DATETIME, Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from tests.support.ingest_kit import BAR_DELAY, MARKET, SESSIONS, close_at, ingest, write_vendor

D = SESSIONS


@pytest.fixture
def store(tmp_path: Path) -> HistoricalStore:
    s = HistoricalStore(tmp_path / "lake")
    ingest(s, write_vendor(tmp_path / "vendor"))
    return s


def test_market_series_when_no_benchmark_is_equal_weighted_total_return(store: HistoricalStore) -> None:
    view = TimeMachine(store, close_at(D[10]) + BAR_DELAY)
    series = market_series(view, MARKET, D[0], D[-1])
    assert series["date"].to_list() == D[1:11]  # nothing after the view, no return on the first session
    adj = view.table(Table.PRICES_ADJUSTED)
    expected = adj.filter(pl.col("date") == D[5])["total_return"].mean()
    assert series.filter(pl.col("date") == D[5])["market_return"].item() == pytest.approx(expected)
    assert set(series["names"]) == {3}
    assert set(series["source"]) == {"equal_weighted"}


def test_market_series_when_benchmark_configured_uses_its_returns(store: HistoricalStore) -> None:
    publish_market(store, MARKET, benchmark="IDX")
    levels = pl.DataFrame(
        {"market": "US_EQ", "series": "IDX", "date": D[:4], "value": [100.0, 110.0, 99.0, 99.0],
         "known_at": [close_at(d) + BAR_DELAY for d in D[:4]]}
    ).with_columns(pl.col("known_at").cast(UTC_DATETIME))  # fmt: skip
    store.merge(Table.MACRO_OBSERVATIONS, levels)
    view = TimeMachine(store, close_at(D[2]) + timedelta(hours=1))
    series = market_series(view, MARKET, D[1], D[-1])
    assert series["market_return"].to_list() == pytest.approx([0.1, -0.1])
    assert set(series["source"]) == {"benchmark"}


# Batched point-in-time reads: one read per table, each session resolved at its own decision time.
KNOWN = [close_at(d) + BAR_DELAY for d in D]


def _frame(data: object, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(data, schema={**schema, "known_at": UTC_DATETIME}).with_columns(market=pl.lit("US_EQ"))


def _history() -> HistorySnapshot:
    """A market with late rows, revisions (one to a null return), a listing change and a benchmark switched on
    part-way, whose levels also arrive late and get revised."""
    rng = np.random.default_rng(5)
    symbols = [f"S{k:02d}" for k in range(12)]
    known = dict(zip(D, KNOWN, strict=True))
    rows = [{"date": d, "symbol": s, "total_return": float(rng.normal(0, 0.01)), "known_at": known[d]}
            for d in D for s in symbols]  # fmt: skip
    late = {(D[7], "S01"): 3, (D[20], "S02"): 1, (D[20], "S03"): 40, (D[33], "S04"): 2}
    for row in rows:  # late rows: first known a few sessions after their date
        lag = late.get((row["date"], row["symbol"]))
        if lag:
            row["known_at"] = KNOWN[D.index(row["date"]) + lag]
    revised = [dict(r, total_return=r["total_return"] + 0.05, known_at=r["known_at"] + timedelta(days=k))
               for k, r in ((1, rows[60]), (4, rows[61]), (9, rows[200]))]  # fmt: skip
    revised.append(dict(rows[300], total_return=None, known_at=rows[300]["known_at"] + timedelta(days=2)))
    prices = _frame([*rows, *revised], {"date": pl.Date(), "symbol": pl.String(), "total_return": pl.Float64()})
    inst = pl.DataFrame(
        {"symbol": [*symbols, "S05", "S06"], "date": [D[0]] * 14,
         "listed": [D[0]] * 12 + [D[0], D[0]], "delisted": [None] * 12 + [D[25], D[30]],
         "known_at": [KNOWN[0]] * 12 + [KNOWN[15], KNOWN[35]]},
        schema={"symbol": pl.String(), "date": pl.Date(), "listed": pl.Date(), "delisted": pl.Date(),
                "known_at": UTC_DATETIME},
    ).with_columns(market=pl.lit("US_EQ"))  # fmt: skip
    markets = _frame({"benchmark": [None, "IDX"], "known_at": [KNOWN[0], KNOWN[40]]}, {"benchmark": pl.String()})
    level_days = [d for d in D if d != D[45]]  # a missing level: that session has no return
    levels = pl.DataFrame(
        {"series": "IDX", "date": level_days, "value": 100 * np.cumprod(1 + rng.normal(0, 0.01, len(level_days))),
         "known_at": [known[d] for d in level_days]},
        schema={"series": pl.String(), "date": pl.Date(), "value": pl.Float64(), "known_at": UTC_DATETIME},
    )  # fmt: skip
    levels = levels.with_columns(  # the level of D[50] arrives two sessions late
        pl.when(pl.col("date") == D[50]).then(pl.lit(KNOWN[52])).otherwise(pl.col("known_at")).alias("known_at")
    )
    fix = levels.filter(pl.col("date").is_in([D[41], D[47]])).with_columns(
        pl.col("value") * 1.02, pl.col("known_at") + timedelta(days=3)
    )
    macro = pl.concat([levels, fix]).with_columns(market=pl.lit("US_EQ"))
    tables = {Table.PRICES_ADJUSTED: prices, Table.INSTRUMENTS: inst, Table.MARKETS: markets,
              Table.MACRO_OBSERVATIONS: macro}  # fmt: skip
    return HistorySnapshot(KNOWN[-1], tables)


def test_market_returns_known_when_late_rows_and_revisions_equals_per_session_reads_bit_for_bit() -> None:
    view = TimeMachine(_history(), KNOWN[-1])
    per_session = market_returns_per_session(view, MARKET, D, KNOWN)
    batched = market_returns_known(view, MARKET, D, KNOWN)
    assert batched.tobytes() == per_session.tobytes()
    assert np.isnan(per_session[[45, 50]]).all()  # no level that day; a level known only after the session
    assert np.isfinite(np.delete(per_session, [45, 50])).all()
    # The data exercise the point-in-time rule: read as known at the end, both sources differ.
    hindsight = market_returns_known(view, MARKET, D, [KNOWN[-1]] * len(D))
    changed = np.flatnonzero(hindsight != per_session)
    assert (changed < 40).any()  # equal-weighted sessions
    assert (changed > 40).any()  # benchmark sessions


def test_market_returns_known_when_sessions_are_a_subset_or_empty_matches_and_refuses_look_ahead() -> None:
    view = TimeMachine(_history(), KNOWN[30])
    some = [0, 5, 7, 20, 21, 30]
    days, times = [D[i] for i in some], [KNOWN[i] for i in some]
    assert market_returns_known(view, MARKET, days, times).tobytes() == (
        market_returns_per_session(view, MARKET, days, times).tobytes()
    )
    assert market_returns_known(view, MARKET, [], []).size == 0
    with pytest.raises(LookAheadError):
        market_returns_known(view, MARKET, [D[31]], [KNOWN[31]])
