"""The label: forward return from the open after the decision to the open H sessions later, ranked per session."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from prometheus.engines.assessment import forward_returns

DAYS = [date(2024, 1, 1) + timedelta(days=i) for i in range(8)]


def _bars(rows: list[tuple[int, str, float, float, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"date": DAYS[i], "symbol": s, "open": o, "close": c, "total_return": r} for i, s, o, c, r in rows],
        schema={"date": pl.Date(), "symbol": pl.String(), "open": pl.Float64(), "close": pl.Float64(),
                "total_return": pl.Float64()},
    )  # fmt: skip


def _steady(symbol: str, closes: list[float], opens: list[float]) -> list[tuple[int, str, float, float, float | None]]:
    out = []
    for i, (o, c) in enumerate(zip(opens, closes, strict=True)):
        r = None if i == 0 else c / closes[i - 1] - 1
        out.append((i, symbol, o, c, r))
    return out


def test_forward_return_runs_from_next_open_to_open_h_sessions_later() -> None:
    closes = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]
    opens = [9.5, 10.5, 11.5, 12.5, 13.5, 14.5, 15.5, 16.5]
    frame = forward_returns(_bars(_steady("A", closes, opens)), DAYS, horizon=2, last_known=7)
    # Session 0: enter at the open of 1 (10.5), leave at the open of 3 (12.5).
    got = dict(zip(frame["date"].to_list(), frame["forward_return"].to_list(), strict=True))
    assert got[DAYS[0]] == pytest.approx(12.5 / 10.5 - 1)
    assert got[DAYS[4]] == pytest.approx(16.5 / 14.5 - 1)
    # The label of row i needs row i + 1 + H <= last_known: rows 0..4 only.
    assert sorted(got) == DAYS[:5]


def test_dividends_inside_the_window_count() -> None:
    closes = [10.0] * 8
    opens = [10.0] * 8
    rows = _steady("A", closes, opens)
    rows[2] = (2, "A", 10.0, 10.0, 0.02)  # a 2 % dividend on session 2's close-to-close return
    frame = forward_returns(_bars(rows), DAYS, horizon=3, last_known=7)
    got = dict(zip(frame["date"].to_list(), frame["forward_return"].to_list(), strict=True))
    assert got[DAYS[0]] == pytest.approx(0.02)  # window: open 1 .. open 4 holds session 2's return
    assert got[DAYS[2]] == pytest.approx(0.0)  # enters after it


def test_a_delisted_name_exits_at_its_last_close() -> None:
    closes = [10.0, 10.0, 10.0, 7.0]
    opens = [10.0, 10.0, 10.0, 10.0]
    rows = _steady("D", closes, opens) + _steady("A", [10.0] * 8, [10.0] * 8)
    frame = forward_returns(_bars(rows), DAYS, horizon=3, last_known=7)
    d = frame.filter(pl.col("symbol") == "D")
    assert d["date"].to_list() == DAYS[:3]  # entries at 1, 2, 3; none after its last bar
    assert d["forward_return"].to_list() == pytest.approx([-0.3, -0.3, -0.3])


def test_a_gap_inside_the_window_gives_no_label() -> None:
    rows = [r for r in _steady("G", [10.0] * 8, [10.0] * 8) if r[0] != 3]
    frame = forward_returns(_bars(rows), DAYS, horizon=2, last_known=7)
    assert DAYS[1] not in frame["date"].to_list()  # window 2..4 misses session 3
    assert DAYS[4] in frame["date"].to_list()


def test_labels_are_ranks_centred_on_zero() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for k in range(5):
        closes = list(10 * np.cumprod(1 + 0.01 * rng.standard_normal(8)))
        rows += _steady(f"S{k}", closes, closes)
    frame = forward_returns(_bars(rows), DAYS, horizon=2, last_known=7)
    for _, group in frame.group_by("date"):
        assert sorted(group["label"].to_list()) == pytest.approx([-0.4, -0.2, 0.0, 0.2, 0.4])
        order = group.sort("forward_return")["label"].to_list()
        assert order == sorted(order)
