"""The point-in-time panel reader (prometheus.data.panel): windows as known at each decision time, and the stacked
(sessions x names) price panel with each bar as known at its own session."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from prometheus.calendar import get_calendar
from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.panel import PointInTimePanel, listed_names, load_price_panel, panel_from_frame
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import HistorySnapshot, TimeMachine


def test_panel_when_late_rows_and_revisions_equals_per_session_reads(stability_history, poison) -> None:
    h = stability_history
    days = list(h.market.sessions[300:340])
    ctx = h.context(days)
    # Late rows known one day after session 310 and revisions of everything after it.
    snap = poison(h.snapshot, ctx.decision_times[10], days[10])
    view = h.view(ctx, snap)
    history = get_calendar().sessions(Market.US_EQ, h.market.sessions[200], days[-1])
    panel = PointInTimePanel(view, Market.US_EQ, days, ctx.decision_times, history, 63, block=21)
    windows = list(panel)
    assert panel.own_reads > 0  # the late rows forced some sessions onto their own read
    for w in windows[::3]:
        at = view.at(w.decision_time)
        names = listed_names(at.table(Table.INSTRUMENTS, market=Market.US_EQ), w.session)
        assert w.symbols.tolist() == names["symbol"].to_list()
        first = w.session - timedelta(days=120)
        rows = at.table(Table.PRICES_ADJUSTED, market=Market.US_EQ, start=first, end=w.session)
        for j in (0, len(w.symbols) // 2, len(w.symbols) - 1):
            own = rows.filter(rows["symbol"] == w.symbols[j])
            by_date = dict(zip(own["date"].to_list(), own["total_return"].to_list(), strict=True))
            expected = np.array([by_date.get(d.item()) for d in w.dates], dtype=float)
            assert np.array_equal(w.returns[:, j], expected, equal_nan=True)


def test_panel_when_late_rows_and_revisions_without_ties_equals_per_session_reads(stability_history, poison) -> None:
    """The numpy path (no two revisions of a fact known at one instant): every field of every window as one
    TimeMachine read at the session's own decision time gives it."""
    h = stability_history
    days = list(h.market.sessions[300:345])
    ctx = h.context(days)
    snap = poison(h.snapshot, ctx.decision_times[10], days[10])
    key = ["market", "date", "symbol", "known_at"]
    tables = {t: f.unique(key, keep="first", maintain_order=True) for t, f in snap.tables.items()}
    view = TimeMachine(HistorySnapshot(snap.known_until, tables), ctx.last_decision_time)
    history = get_calendar().sessions(Market.US_EQ, h.market.sessions[200], days[-1])
    panel = PointInTimePanel(view, Market.US_EQ, days, ctx.decision_times, history, 63, block=21)
    windows = list(panel)
    assert 0 < panel.own_reads < len(days)
    for w in windows:
        first = panel._days[panel._first_row(w.session)].item()
        expected = panel._window_of(w.session, w.decision_time, *panel._read(view.at(w.decision_time), first,
                                                                              w.session))  # fmt: skip
        for field in ("dates", "symbols", "sectors", "returns", "dollar_volume", "close", "delisted"):
            a, b = getattr(w, field), getattr(expected, field)
            assert a.shape == b.shape
            assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fM")


DAYS = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4), date(2024, 1, 5)]
DTS = [datetime(d.year, d.month, d.day, 21, 5, tzinfo=UTC) for d in DAYS]


def _rows(day: int, close: float, ret: float, known: datetime) -> dict:
    return {"market": "US_EQ", "date": DAYS[day], "symbol": "AAA", "open": close, "high": close, "low": close,
            "close": close, "volume": 100.0, "total_return": ret, "known_at": known}  # fmt: skip


def test_panel_when_bar_revised_later_uses_version_known_at_its_session(tmp_path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    rows = [_rows(k, 10.0 + k, 0.01 * (k + 1), DTS[k]) for k in range(4)]
    rows.append(_rows(1, 99.0, 0.5, DTS[2] + timedelta(hours=1)))  # correction of day 1 known after day 2
    store.write_frame(Table.PRICES_ADJUSTED, pl.DataFrame(rows))
    panel = load_price_panel(TimeMachine(store, DTS[-1]), "US_EQ", DAYS, DTS)

    assert panel.symbols == ("AAA",)
    assert panel.returns[:, 0].tolist() == [0.01, 0.02, 0.03, 0.04]
    assert panel.dollar_volume[1, 0] == pytest.approx(1100.0)


def test_panel_when_bar_arrives_after_its_session_leaves_it_missing(tmp_path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    rows = [_rows(k, 10.0, 0.01, DTS[k]) for k in (0, 2, 3)]
    rows.append(_rows(1, 10.0, 0.02, DTS[3]))  # day 1 only delivered on day 3
    store.write_frame(Table.PRICES_ADJUSTED, pl.DataFrame(rows))
    panel = load_price_panel(TimeMachine(store, DTS[-1]), "US_EQ", DAYS, DTS)

    assert np.isnan(panel.returns[1, 0])
    assert panel.returns[3, 0] == 0.01


def test_panel_from_frame_when_column_missing_raises_data_error() -> None:
    frame = pl.DataFrame({"date": DAYS, "symbol": ["A"] * 4, "close": [1.0] * 4, "volume": [1.0] * 4})

    with pytest.raises(DataError, match="total_return"):
        panel_from_frame(frame, "US_EQ", DAYS, DTS)
