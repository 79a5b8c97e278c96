"""A named macro series' returns, each as known at its session's decision time (an index beside the market)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from prometheus.core.errors import LookAheadError
from prometheus.data.market_series import market_returns_known, series_returns_known
from prometheus.data.schema import UTC_DATETIME, Table
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from tests.support.ingest_kit import BAR_DELAY, MARKET, SESSIONS, close_at

D = SESSIONS[:30]
KNOWN = [close_at(d) + BAR_DELAY for d in D]
LEVEL = {d: 100.0 + i for i, d in enumerate(D)}


def _history(benchmark: str | None) -> HistorySnapshot:
    """Levels of SPX, one arriving two sessions late (D[10]) and one revised two sessions later (D[20], +5 %)."""
    known = [KNOWN[12] if d == D[10] else t for d, t in zip(D, KNOWN, strict=True)]
    rows = [{"series": "SPX", "date": d, "value": LEVEL[d], "known_at": t} for d, t in zip(D, known, strict=True)]
    rows.append({"series": "SPX", "date": D[20], "value": LEVEL[D[20]] * 1.05, "known_at": KNOWN[22]})
    macro = pl.DataFrame(
        rows, schema={"series": pl.String(), "date": pl.Date(), "value": pl.Float64(), "known_at": UTC_DATETIME}
    ).with_columns(market=pl.lit(MARKET.value))
    markets = pl.DataFrame(
        {"market": [MARKET.value], "benchmark": [benchmark], "known_at": [KNOWN[0] - timedelta(days=1)]},
        schema={"market": pl.String(), "benchmark": pl.String(), "known_at": UTC_DATETIME},
    )
    columns = {"market": pl.String(), "symbol": pl.String(), "date": pl.Date(), "listed": pl.Date(),
               "delisted": pl.Date(), "known_at": UTC_DATETIME}  # fmt: skip
    instruments = pl.DataFrame(schema=columns)
    tables = {Table.MARKETS: markets, Table.MACRO_OBSERVATIONS: macro, Table.INSTRUMENTS: instruments}
    return HistorySnapshot(KNOWN[-1], tables)


def test_series_returns_known_when_levels_arrive_late_or_are_revised_uses_what_each_session_knew() -> None:
    got = series_returns_known("SPX", TimeMachine(_history(None), KNOWN[-1]), MARKET, D, KNOWN)
    assert np.isnan(got[[0, 10]]).all()  # no earlier level; the level of D[10] was not known at its decision
    assert got[11] == pytest.approx(LEVEL[D[11]] / LEVEL[D[9]] - 1)  # D[10]'s level still unknown then
    assert got[21] == pytest.approx(LEVEL[D[21]] / LEVEL[D[20]] - 1)  # the revision came a session later
    assert got[23] == pytest.approx(LEVEL[D[23]] / LEVEL[D[22]] - 1)


def test_series_returns_known_when_the_series_is_the_benchmark_equals_the_market_returns_bit_for_bit() -> None:
    view = TimeMachine(_history("SPX"), KNOWN[-1])
    assert series_returns_known("SPX", view, MARKET, D, KNOWN).tobytes() == (
        market_returns_known(view, MARKET, D, KNOWN).tobytes()
    )


def test_series_returns_known_when_a_session_is_decided_after_the_view_refuses_and_empty_is_empty() -> None:
    view = TimeMachine(_history(None), KNOWN[10])
    with pytest.raises(LookAheadError):
        series_returns_known("SPX", view, MARKET, [D[11]], [KNOWN[11]])
    assert series_returns_known("SPX", view, MARKET, [], []).size == 0
