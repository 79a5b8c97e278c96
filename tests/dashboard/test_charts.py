"""Inline SVG charts: an <svg> element alone (no XML prolog), one legend entry per regime state, nothing without
rows."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from prometheus_dashboard.charts import equity_svg, regime_probabilities_svg

SESSIONS = [date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)]


@pytest.mark.parametrize(
    ("probabilities", "names", "absent"),
    [
        ({"p0": [0.9, 0.5, 0.2], "p1": [0.1, 0.5, 0.8]}, ["calm", "crisis"], ["normal"]),
        ({"p0": [0.7, 0.3, 0.1], "p1": [0.2, 0.4, 0.2], "p2": [0.1, 0.3, 0.7]}, ["calm", "normal", "crisis"], []),
        ({f"p{k}": [0.25] * 3 for k in range(4)}, ["state 0", "state 3"], ["calm"]),
    ],
)
def test_regime_probabilities_svg_when_drawn_names_each_state(
    probabilities: dict[str, list[float]], names: list[str], absent: list[str]
) -> None:
    svg = regime_probabilities_svg(pl.DataFrame({"session": SESSIONS, **probabilities}))
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    for name in names:
        assert f">{name}<" in svg  # text kept as text (svg.fonttype none)
    for name in absent:
        assert f">{name}<" not in svg
    assert "2026-11-23" in svg


def test_charts_when_no_rows_are_empty() -> None:
    empty = pl.DataFrame(schema={"session": pl.Date(), "equity": pl.Float64(), "p0": pl.Float64()})
    assert regime_probabilities_svg(empty) == ""
    assert equity_svg(empty) == ""


def test_equity_svg_when_drawn_labels_sessions_and_is_reproducible() -> None:
    history = pl.DataFrame({"session": SESSIONS, "equity": [100.0, 101.0, 99.5]})
    svg = equity_svg(history)
    assert svg.startswith("<svg")
    assert "2026-11-25" in svg
    assert equity_svg(history) == svg  # no date or random ids in the file
