"""Causal jump judgement: a bar is judged against the bars before it, held on a name's last bar, and settled by the
next bar (a round trip is a spike; a move that persists loads, known with the bar that confirmed it)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prometheus.data.ingest import DateWindow, QcConfig
from prometheus.data.ingest.spikes import KNOWN_ON, Verdict, judge_jumps
from prometheus.data.schema import Table
from tests.support.ingest_kit import (
    BAR_DELAY,
    LENIENT,
    SESSIONS,
    clean_prices,
    close_at,
    instruments,
    load,
    write_vendor,
)

D = SESSIONS
_OHLC = ("open", "high", "low", "close")
_NO_SPLITS = pl.DataFrame(schema={"date": pl.Date, "symbol": pl.String, "value": pl.Float64})
_NO_DELISTING = pl.DataFrame(schema={"symbol": pl.String, "delisted": pl.Date})


def _scaled(prices: pl.DataFrame, symbol: str, factor: float, first: int, last: int | None = None) -> pl.DataFrame:
    """``symbol``'s OHLC times ``factor`` on sessions ``D[first]`` to ``D[last]`` (default: to the end)."""
    end = D[last] if last is not None else D[-1]
    hit = (pl.col("symbol") == symbol) & pl.col("date").is_between(
        pl.lit(D[first].isoformat()), pl.lit(end.isoformat())
    )
    return prices.with_columns([pl.when(hit).then((pl.col(c) * factor).round(2)).otherwise(pl.col(c)).alias(c)
                                for c in _OHLC])  # fmt: skip


def _upto(prices: pl.DataFrame, k: int) -> pl.DataFrame:
    return prices.filter(pl.col("date") <= D[k].isoformat())


def _bars(batch_prices: pl.DataFrame, symbol: str) -> pl.DataFrame:
    return batch_prices.filter(pl.col("symbol") == symbol).sort("date")


def test_jump_when_the_move_persists_loads_known_with_the_next_bar(tmp_path: Path) -> None:
    batch = load(write_vendor(tmp_path, _scaled(clean_prices(), "AAA", 1.5, 30)), LENIENT)
    aaa = _bars(batch.tables[Table.PRICES_DAILY], "AAA")
    assert batch.quarantine.is_empty()
    known = dict(zip(aaa["date"], aaa["known_at"], strict=True))
    assert known[D[30]] == close_at(D[31]) + BAR_DELAY  # not at its own close: nobody could trust it yet
    assert known[D[31]] == close_at(D[31]) + BAR_DELAY
    assert known[D[29]] == close_at(D[29]) + BAR_DELAY


def test_jump_when_on_the_last_bar_is_held_as_unconfirmed(tmp_path: Path) -> None:
    batch = load(write_vendor(tmp_path, _upto(_scaled(clean_prices(), "AAA", 1.5, 30), 30)), LENIENT)
    held = batch.quarantine.row(0, named=True)
    assert (batch.quarantine.height, held["rule"], held["date"], held["field"]) == (
        1,
        "unconfirmed_jump",
        D[30],
        "close",
    )
    assert "held until the next bar" in held["reason"]
    assert D[30] not in _bars(batch.tables[Table.PRICES_DAILY], "AAA")["date"].to_list()


@pytest.mark.parametrize(
    ("next_factor", "rule", "loaded"),
    [(1.0, "price_spike", False), (1.5, None, True)],
    ids=["next-bar-reverts", "next-bar-persists"],
)
def test_held_jump_when_the_next_bar_arrives_is_settled(
    tmp_path: Path, next_factor: float, rule: str | None, loaded: bool
) -> None:
    prices = _scaled(_scaled(clean_prices(), "AAA", 1.5, 30, 30), "AAA", next_factor, 31)
    day1 = load(write_vendor(tmp_path / "day1", _upto(prices, 30)), LENIENT)
    day2 = load(write_vendor(tmp_path / "day2", _upto(prices, 31)), LENIENT)
    assert day1.quarantine["rule"].to_list() == ["unconfirmed_jump"]
    assert day2.quarantine["rule"].to_list() == ([rule] if rule else [])
    aaa = _bars(day2.tables[Table.PRICES_DAILY], "AAA")
    assert (D[30] in aaa["date"].to_list()) is loaded


def test_delisting_bar_when_final_drop_on_the_last_bar_loads_not_held(tmp_path: Path) -> None:
    names = instruments().with_columns(
        pl.when(pl.col("symbol") == "CCC").then(pl.lit(D[40].isoformat())).otherwise(None).alias("delisted")
    )
    prices = _scaled(clean_prices(), "CCC", 0.6, 40, 40)  # the final -40 % of a delisting
    # The vendor kept quoting the name after its delisting, at the old level: those bars are outside the listing.
    batch = load(write_vendor(tmp_path, prices, names=names), LENIENT)
    ccc = _bars(batch.tables[Table.PRICES_DAILY], "CCC")
    assert ccc["date"].max() == D[40]
    assert batch.quarantine["rule"].unique().to_list() == ["outside_listing"]
    assert batch.quarantine.height == len(D) - 41


def test_split_when_the_raw_close_halves_is_no_jump(tmp_path: Path) -> None:
    prices = _scaled(clean_prices(), "AAA", 0.5, 30)
    actions = pl.DataFrame({"date": [D[30].isoformat()], "symbol": ["AAA"], "action": ["split"], "value": [2.0],
                            "announced_at": ["2024-01-25T21:30:00Z"]})  # fmt: skip
    batch = load(write_vendor(tmp_path, prices, actions), LENIENT)
    assert batch.quarantine.is_empty()
    aaa = _bars(batch.tables[Table.PRICES_DAILY], "AAA")
    assert aaa.filter(pl.col("date") == D[30])["known_at"].item() == close_at(D[30]) + BAR_DELAY


def test_daily_deliveries_when_published_day_by_day_equal_one_full_delivery(tmp_path: Path) -> None:
    # A spike (D[45]), a level shift (D[50]) and a drop on the last bar (D[-1]) in a history that grows a day at a time.
    prices = _scaled(_scaled(_scaled(clean_prices(), "AAA", 3.0, 45, 45), "BBB", 1.6, 50), "CCC", 0.5, len(D) - 1)
    full = load(write_vendor(tmp_path / "full", prices), LENIENT).tables[Table.PRICES_DAILY]
    first = 40
    parts = []
    for k in range(first, len(D)):
        directory = write_vendor(tmp_path / f"d{k}", _upto(prices, k))
        batch = load(directory, LENIENT, ingested_at=close_at(D[k]) + timedelta(hours=1))
        window = DateWindow(D[0] if k == first else D[k], D[k])
        parts.append(batch.within(window).tables[Table.PRICES_DAILY])
    daily = pl.concat(parts).sort("date", "symbol")
    # Day by day, every bar the full delivery loads was published with the same known_at, except the last bar's
    # drop, held on its own day and settled only by a later delivery.
    assert daily.equals(full.filter(~((pl.col("symbol") == "CCC") & (pl.col("date") == D[-1]))))


# -------------------------------------------------------------------------------------------- causality (pure)
@st.composite
def _paths(draw: st.DrawFn) -> pl.DataFrame:
    """One or two names' closes: a random walk with one-bar spikes and level shifts planted at random."""
    rows = []
    for symbol in ("AAA", "BBB")[: draw(st.integers(1, 2))]:
        n = draw(st.integers(3, 60))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        log_close = np.cumsum(rng.normal(0.0, 0.01, n))
        for at in draw(st.lists(st.integers(1, n - 1), max_size=4)):
            kind = draw(st.sampled_from(["spike", "shift"]))
            size = draw(st.sampled_from([-0.9, -0.4, 0.4, 1.2]))
            if kind == "spike":
                log_close[at] += size
            else:
                log_close[at:] += size
        rows += [{"date": D[i], "symbol": symbol, "close": float(np.exp(v) * 50)} for i, v in enumerate(log_close)]
    return pl.DataFrame(rows)


def _judged(bars: pl.DataFrame) -> dict[tuple[object, str], tuple[int, object]]:
    out = judge_jumps(bars, _NO_SPLITS, _NO_DELISTING, QcConfig())
    return {(d, s): (v, k) for d, s, v, k in out.select("date", "symbol", "_verdict", KNOWN_ON).iter_rows()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bars=_paths(), cut=st.integers(1, 59))
def test_verdicts_when_later_bars_arrive_never_change_except_the_held_last_bar(bars: pl.DataFrame, cut: int) -> None:
    full = _judged(bars)
    prefix = _judged(bars.filter(pl.col("date") <= D[cut]))
    last = {s: d for s, d in bars.filter(pl.col("date") <= D[cut]).group_by("symbol").agg(pl.col("date").max()).rows()}
    for (d, s), (verdict, known_on) in prefix.items():
        assert known_on >= d
        if d == last[s] and verdict == Verdict.HELD:
            continue  # the only verdict a later bar may settle
        assert full[(d, s)] == (verdict, known_on), (d, s)
