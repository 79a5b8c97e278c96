"""Corporate-action adjustment: hand-computed factors and returns, point-in-time revisions, no jump at ex-dates."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from prometheus.data.ingest import adjusted_as_of, adjusted_revisions, adjustment_factors
from prometheus.data.known_at import with_bar_known_at
from prometheus.data.schema import CORPORATE_ACTIONS, Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import TimeMachine, latest_known
from tests.support.ingest_kit import (
    BAR_DELAY,
    CAL,
    SESSIONS,
    actions_frame,
    clean_prices,
    close_at,
    ingest,
    split_prices,
    write_vendor,
)

D = SESSIONS


def _raw(closes: list[float], symbol: str = "AAA") -> pl.DataFrame:
    frame = pl.DataFrame(
        {"market": "US_EQ", "date": D[: len(closes)], "symbol": symbol, "open": closes, "high": closes, "low": closes,
         "close": closes, "volume": 100.0}
    )  # fmt: skip
    return with_bar_known_at(frame, CAL, "US_EQ", BAR_DELAY)


def _actions(rows: list[tuple[int, str, float, datetime]], symbol: str = "AAA") -> pl.DataFrame:
    data = [
        {"market": "US_EQ", "date": D[i], "symbol": symbol, "action": a, "value": v, "announced_at": t, "known_at": t}
        for i, a, v, t in rows
    ]
    return pl.DataFrame(data, schema=CORPORATE_ACTIONS.polars_schema)


KEY = ("market", "date", "symbol", "known_at")
RAW = _raw([100.0, 102.0, 51.0, 52.0])
#: A 2-for-1 split on D[2], announced after the bar of D[1] was known; a dividend of 1.0 on D[3], announced early.
ANNOUNCED = close_at(D[1]) + timedelta(hours=1)
ACTIONS = _actions([(2, "split", 2.0, ANNOUNCED), (3, "dividend", 1.0, close_at(D[0]))])


def test_adjusted_when_all_actions_known_match_hand_computation() -> None:
    out = adjusted_as_of(RAW, ACTIONS, close_at(D[3]) + BAR_DELAY)
    assert out["close"].to_list() == [50.0, 51.0, 51.0, 52.0]
    assert out["volume"].to_list() == [200.0, 200.0, 100.0, 100.0]
    tr = out["total_return"].to_list()
    assert tr[0] is None
    assert tr[1:] == pytest.approx([0.02, 0.0, 53.0 / 51.0 - 1.0])


def test_adjusted_when_split_not_yet_announced_uses_raw_prices() -> None:
    before = adjusted_as_of(RAW, ACTIONS, ANNOUNCED - timedelta(seconds=1))
    assert before["close"].to_list() == [100.0, 102.0]
    after = adjusted_as_of(RAW, ACTIONS, ANNOUNCED)
    assert after["close"].to_list() == [50.0, 51.0]
    assert after["known_at"].to_list() == [ANNOUNCED, ANNOUNCED]


def test_revisions_when_split_announced_late_revise_earlier_bars_at_announcement() -> None:
    revisions = adjusted_revisions(RAW, ACTIONS)
    counts = dict(revisions.group_by("date").len().iter_rows())
    assert counts == {D[0]: 2, D[1]: 2, D[2]: 1, D[3]: 1}
    revised = revisions.filter(pl.col("known_at") == ANNOUNCED).sort("date")
    assert revised["close"].to_list() == [50.0, 51.0]


def test_factors_when_split_and_dividend_give_classic_back_adjustment() -> None:
    factors = latest_known(adjustment_factors(ACTIONS, RAW), KEY, close_at(D[3])).sort("date")
    assert factors["split_factor"].to_list() == [0.5, 1.0]
    assert factors["dividend_factor"].to_list() == pytest.approx([1.0, 1.0 - 1.0 / 51.0])


def test_factors_when_dividend_announced_before_previous_close_wait_for_that_close() -> None:
    factors = adjustment_factors(ACTIONS, RAW).filter(pl.col("date") == D[3]).sort("known_at")
    # Announced after D[0]'s close: the close of D[2] it divides by is known only at D[2]'s close + delay.
    assert factors["known_at"].to_list() == [close_at(D[0]), close_at(D[2]) + BAR_DELAY]
    assert factors["dividend_factor"].to_list() == pytest.approx([1.0, 1.0 - 1.0 / 51.0])


def test_dividend_when_announced_after_ex_date_revises_only_that_bar() -> None:
    late = close_at(D[3]) + timedelta(days=2)
    revisions = adjusted_revisions(RAW, _actions([(3, "dividend", 1.0, late)]))
    changed = revisions.filter(pl.col("known_at") == late)
    assert changed["date"].to_list() == [D[3]]
    assert changed["total_return"].item() == pytest.approx(53.0 / 51.0 - 1.0)


_instants = st.integers(min_value=0, max_value=len(D) * 24 * 3600).map(
    lambda s: close_at(D[0]) - timedelta(days=1) + timedelta(seconds=s)
)
_action = st.tuples(
    st.integers(0, len(D) - 1),
    st.sampled_from(["split", "dividend"]),
    st.sampled_from([0.1, 0.5, 2.0, 3.0]),
    _instants,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(_action, max_size=6, unique_by=lambda a: (a[0], a[1])), as_of=_instants)
def test_revisions_when_served_as_of_any_instant_equal_adjustment_of_what_was_known(
    actions: list[tuple[int, str, float, datetime]], as_of: datetime
) -> None:
    """The latest revision known at t is exactly the adjustment of the bars and actions known at t."""
    raw = pl.concat([_raw(clean_prices().filter(pl.col("symbol") == s)["close"].to_list(), s) for s in ("AAA", "BBB")])
    acts = pl.concat([_actions(actions, "AAA"), _actions(actions[:2], "BBB")])
    served = latest_known(adjusted_revisions(raw, acts), ("market", "date", "symbol", "known_at"), as_of)
    expected = adjusted_as_of(raw, acts, as_of)
    assert_frame_equal(served.sort("symbol", "date"), expected.sort("symbol", "date"), check_exact=False)


def test_adjusted_close_when_ingested_shows_no_jump_at_split_ex_date(tmp_path: Path) -> None:
    prices = split_prices(split_prices(clean_prices(), "AAA", D[25], 2.0), "BBB", D[40], 0.1)
    acts = actions_frame([(D[25], "AAA", "split", 2.0, None), (D[40], "BBB", "split", 0.1, "2024-02-01T21:30:00Z")])
    store = HistoricalStore(tmp_path / "lake")
    ingest(store, write_vendor(tmp_path / "v", prices, acts))
    view = TimeMachine(store, close_at(D[-1]) + BAR_DELAY)
    adj = view.table(Table.PRICES_ADJUSTED).sort("symbol", "date")
    raw = view.table(Table.PRICES_DAILY).sort("symbol", "date")
    jump = (pl.col("close") / pl.col("close").shift(1).over("symbol")).log().abs()
    at_ex = [(D[25], "AAA"), (D[40], "BBB")]
    for d, s in at_ex:
        pick = (pl.col("date") == d) & (pl.col("symbol") == s)
        assert adj.with_columns(jump.alias("j")).filter(pick)["j"].item() < 0.05
        assert raw.with_columns(jump.alias("j")).filter(pick)["j"].item() > 0.6
    # Without an announcement time the split is known at the open of its ex-date.
    split = view.table(Table.CORPORATE_ACTIONS, symbols=["AAA"]).row(0, named=True)
    assert split["known_at"] == CAL.open_at("US_EQ", D[25]) == split["announced_at"]
    # A view just before that instant still sees the unadjusted history of AAA.
    early = TimeMachine(store, CAL.open_at("US_EQ", D[25]) - timedelta(seconds=1))
    first = early.table(Table.PRICES_ADJUSTED, symbols=["AAA"]).row(0, named=True)
    assert first["close"] == raw.filter((pl.col("symbol") == "AAA") & (pl.col("date") == D[0]))["close"].item()


_correction = st.tuples(st.integers(0, len(D) - 1), st.sampled_from([0.9, 1.1, 1.5]), _instants)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    actions=st.lists(_action, min_size=1, max_size=5, unique_by=lambda a: (a[0], a[1])),
    corrections=st.lists(_correction, max_size=4),
    action_fix=st.tuples(st.sampled_from([0.5, 2.0]), _instants),
    as_of=_instants,
)
def test_revisions_when_bars_and_actions_are_corrected_equal_adjustment_of_what_was_known(
    actions: list[tuple[int, str, float, datetime]],
    corrections: list[tuple[int, float, datetime]],
    action_fix: tuple[float, datetime],
    as_of: datetime,
) -> None:
    """Corrected bars and actions (later revisions of the same key) are served as known: raw and adjusted agree."""
    raw = _raw(clean_prices().filter(pl.col("symbol") == "AAA")["close"].to_list())
    fixes = []
    for i, factor, at in corrections:
        bar = raw.filter(pl.col("date") == D[i])
        known = max(at, bar["known_at"].item() + timedelta(seconds=1))
        prices = [pl.col(c) * factor for c in ("open", "high", "low", "close")]
        fixes.append(bar.with_columns(*prices, pl.lit(known).cast(raw["known_at"].dtype).alias("known_at")))
    raw = pl.concat([raw, *fixes]).unique(["date", "known_at"], keep="first")
    acts = _actions(actions)
    first = acts.head(1)
    fixed_at = max(action_fix[1], first["known_at"].item() + timedelta(seconds=1))
    acts = pl.concat([acts, first.with_columns(pl.col("value") * action_fix[0], pl.lit(fixed_at).alias("known_at"))])
    served = latest_known(adjusted_revisions(raw, acts), KEY, as_of)
    assert_frame_equal(served.sort("date"), adjusted_as_of(raw, acts, as_of).sort("date"), check_exact=False)
