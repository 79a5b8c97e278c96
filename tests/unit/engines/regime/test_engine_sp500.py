"""Real data: the S&P 500 index shipped in ``arch``, ingested as the US_EQ benchmark, labelled 2001-2018."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest.api import ingest_reference, publish_market
from prometheus.data.store import HistoricalStore
from prometheus.engines.regime import RegimeConfig, RegimeEngine
from prometheus.engines.runner import history_view, run_sessions

DELAY = timedelta(minutes=5)


def sp500_states(root: Path, config: RegimeConfig) -> pl.DataFrame:
    """Regime states of US_EQ with the S&P 500 as benchmark, 2001-2018, through the ingested history."""
    store = HistoricalStore(root / "lake")
    ingest_reference(store, bar_delay=DELAY)
    publish_market(store, Market.US_EQ, benchmark="SP500")
    cal = get_calendar()
    sessions = cal.sessions(Market.US_EQ, date(2001, 1, 1), date(2018, 12, 31))
    engine = RegimeEngine(config, cal, DELAY)
    view = history_view(store, cal, Market.US_EQ, sessions, [engine], DELAY)
    out, _ = run_sessions(engine, view, cal, Market.US_EQ, sessions, "sp500", bar_delay=DELAY)
    return out.frame


@pytest.mark.slow
def test_sp500_when_labelled_2001_2018_flags_2008_crisis_and_not_2017(tmp_path: Path) -> None:
    frame = sp500_states(tmp_path, RegimeConfig()).with_columns(crisis=pl.col("label") == "crisis")
    gfc = frame.filter(pl.col("session").is_between(date(2008, 9, 15), date(2009, 3, 31)))["crisis"].mean()
    calm = frame.filter(pl.col("session").dt.year() == 2017)["crisis"].mean()
    assert gfc >= 0.80
    assert calm <= 0.15
