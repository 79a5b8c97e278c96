"""The point-in-time panel reader (prometheus.data.panel), on the stability tests' synthetic market."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.panel import PointInTimePanel, listed_names
from prometheus.data.schema import Table


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
