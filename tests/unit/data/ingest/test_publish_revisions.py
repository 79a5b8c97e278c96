"""Corrections are revisions: a later delivery that corrects a past bar or action adds rows known when it was
ingested; both values stay, each served at its own time, and every view and engine read before then is unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import DateWindow, IngestReport, adjusted_as_of, ingest_vendor
from prometheus.data.panel import PointInTimePanel, load_price_panel
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import TimeMachine
from tests.support.ingest_kit import (
    BAR_DELAY,
    CAL,
    MARKET,
    SESSIONS,
    actions_frame,
    clean_prices,
    close_at,
    set_cell,
    utc,
    write_vendor,
)

D = SESSIONS
T1 = utc(2024, 4, 1, 12)  # the first delivery is ingested
T2 = utc(2024, 5, 2, 12)  # the correction is ingested
DAY = D[20]  # the corrected session
TABLES = (Table.INSTRUMENTS, Table.PRICES_DAILY, Table.CORPORATE_ACTIONS, Table.ADJUSTMENT_FACTORS,
          Table.PRICES_ADJUSTED)  # fmt: skip
#: Instants before the correction was known: views there must not change.
BEFORE = (close_at(D[5]) + BAR_DELAY, close_at(DAY) + BAR_DELAY, close_at(D[-1]) + BAR_DELAY, T2 - timedelta(seconds=1))


@dataclass
class Corrected:
    """A store after the first delivery and its correction, with what the views showed before the correction."""

    store: HistoricalStore
    directory: Path
    old: float
    new: float
    views: dict[tuple[datetime, Table], pl.DataFrame]
    panels: tuple[np.ndarray, np.ndarray]
    report: IngestReport


def _ingest(store: HistoricalStore, directory: Path, at: datetime) -> IngestReport:
    return ingest_vendor(store, directory, MARKET, bar_delay=BAR_DELAY, calendar=CAL, ingested_at=at)


def _views(store: HistoricalStore) -> dict[tuple[datetime, Table], pl.DataFrame]:
    return {(t, table): TimeMachine(store, t).table(table) for t in BEFORE for table in TABLES}


def _panel(store: HistoricalStore) -> tuple[np.ndarray, np.ndarray]:
    days = list(D[15:30])
    times = [close_at(d) + BAR_DELAY for d in days]
    # Read through a view after the correction: each session is still served as known at its own decision time.
    panel = load_price_panel(TimeMachine(store, T2 + timedelta(days=1)), Market.US_EQ, days, times)
    return panel.returns, panel.dollar_volume


@pytest.fixture
def corrected(tmp_path: Path) -> Corrected:
    prices = clean_prices()
    acts = actions_frame([(D[30], "BBB", "dividend", 0.3, None)])
    store = HistoricalStore(tmp_path / "lake")
    _ingest(store, write_vendor(tmp_path / "first" / "vendor", prices, acts), T1)
    views, panels = _views(store), _panel(store)
    old = prices.filter((pl.col("date") == DAY.isoformat()) & (pl.col("symbol") == "AAA"))["close"].item()
    new = round(old + 0.05, 2)  # inside the bar's high-low range: a plausible vendor fix
    directory = write_vendor(tmp_path / "second" / "vendor", set_cell(prices, DAY, "AAA", close=new), acts)
    report = _ingest(store, directory, T2)
    return Corrected(store, directory, old, new, views, panels, report)


def test_correction_when_ingested_keeps_both_values_each_with_its_known_at(corrected) -> None:
    rows = corrected.store.read(Table.PRICES_DAILY, where=f"symbol = 'AAA' AND date = DATE '{DAY}'")

    assert rows.select("close", "known_at").rows() == [
        (corrected.old, close_at(DAY) + BAR_DELAY),
        (corrected.new, T2),
    ]
    assert corrected.report.revised[Table.PRICES_DAILY.value] == 1
    assert corrected.report.loaded[Table.PRICES_DAILY.value] == 1  # only the revision is written


def test_time_machine_when_correction_known_serves_each_value_at_its_own_time(corrected) -> None:
    def close(t: datetime) -> float:
        view = TimeMachine(corrected.store, t)
        return view.table(Table.PRICES_DAILY, start=DAY, end=DAY, symbols=["AAA"])["close"].item()

    assert close(T2 - timedelta(microseconds=1)) == corrected.old
    assert close(T2) == corrected.new


def test_views_when_taken_before_correction_are_unchanged(corrected) -> None:
    for (t, table), before in corrected.views.items():
        assert_frame_equal(TimeMachine(corrected.store, t).table(table), before)


def test_adjusted_when_bar_corrected_revises_that_bar_and_next_return_at_correction(corrected) -> None:
    revised = corrected.store.read(Table.PRICES_ADJUSTED).filter(pl.col("known_at") == T2)

    assert revised.select("date", "symbol").rows() == [(DAY, "AAA"), (D[21], "AAA")]
    served = TimeMachine(corrected.store, T2).table(Table.PRICES_ADJUSTED)
    raw, actions = corrected.store.read(Table.PRICES_DAILY), corrected.store.read(Table.CORPORATE_ACTIONS)
    assert_frame_equal(served.sort("symbol", "date"), adjusted_as_of(raw, actions, T2).sort("symbol", "date"))


def test_engine_reads_when_decided_before_correction_are_unchanged(corrected) -> None:
    returns, dollar = _panel(corrected.store)

    assert np.array_equal(returns, corrected.panels[0], equal_nan=True)
    assert np.array_equal(dollar, corrected.panels[1], equal_nan=True)
    # A decision after the correction sees it: the panel's window of the same sessions, as known at T2.
    days = get_calendar().sessions(Market.US_EQ, D[0], D[-1])
    view = TimeMachine(corrected.store, T2)
    later = next(iter(PointInTimePanel(view, Market.US_EQ, [D[-1]], [T2], days, window=len(days))))
    col, row = later.symbols.tolist().index("AAA"), list(days).index(D[21])
    assert later.returns[row, col] != returns[list(D[15:30]).index(D[21]), 0]


def test_correction_when_delivered_again_changes_no_table(corrected) -> None:
    before = {t: corrected.store.read(t) for t in TABLES}

    again = _ingest(corrected.store, corrected.directory, T2 + timedelta(days=3))

    for table in TABLES:
        assert_frame_equal(corrected.store.read(table), before[table])
    assert sum(again.revised.values()) == 0
    assert again.loaded[Table.PRICES_DAILY.value] == 0


def test_action_when_corrected_revises_action_factors_and_returns_at_correction(tmp_path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    prices = clean_prices()
    _ingest(
        store,
        write_vendor(tmp_path / "a" / "vendor", prices, actions_frame([(D[30], "BBB", "dividend", 0.3, None)])),
        T1,
    )
    before = _views(store)

    _ingest(
        store,
        write_vendor(tmp_path / "b" / "vendor", prices, actions_frame([(D[30], "BBB", "dividend", 0.35, None)])),
        T2,
    )

    actions = store.read(Table.CORPORATE_ACTIONS)
    assert actions.select("value", "known_at").rows() == [(0.3, CAL.open_at(MARKET, D[30])), (0.35, T2)]
    assert store.read(Table.ADJUSTMENT_FACTORS).filter(pl.col("known_at") == T2).height == 1
    revised = store.read(Table.PRICES_ADJUSTED).filter(pl.col("known_at") == T2)
    assert revised.select("date", "symbol").rows() == [(D[30], "BBB")]
    for (t, table), frame in before.items():
        assert_frame_equal(TimeMachine(store, t).table(table), frame)


def test_window_when_correction_known_inside_it_publishes_the_correction_and_other_windows_do_not(
    tmp_path: Path,
) -> None:
    store = HistoricalStore(tmp_path / "lake")
    prices = clean_prices()
    _ingest(store, write_vendor(tmp_path / "a" / "vendor", prices), T1)
    fixed = write_vendor(tmp_path / "b" / "vendor", set_cell(prices, DAY, "AAA", close=prices.item(60, "close") + 0.05))

    def publish_window(start: date, end: date) -> None:
        window = DateWindow(start, end)
        ingest_vendor(store, fixed, MARKET, bar_delay=BAR_DELAY, calendar=CAL, ingested_at=T2, window=window)

    publish_window(date(2024, 2, 1), date(2024, 2, 29))  # the corrected session's month: not when it became known
    assert store.read(Table.PRICES_DAILY).filter(pl.col("known_at") == T2).is_empty()

    publish_window(date(2024, 5, 1), date(2024, 5, 31))  # the month the correction was ingested in

    assert store.read(Table.PRICES_DAILY).filter(pl.col("known_at") == T2).height == 1
    assert store.read(Table.PRICES_ADJUSTED).filter(pl.col("known_at") == T2).height == 2
