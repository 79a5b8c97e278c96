"""Portfolio & Risk asset: built from the engine's declaration (deps on its five upstream engines and the price
tables, checks of target_portfolios and risk_reports), with its plot and metadata on an engine frame."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from prometheus.calendar import get_calendar
from prometheus.core.types import Market, Mode
from prometheus.engines.base import Decision
from prometheus.engines.portfolio.plot import book_by_session, portfolio_plot_png
from prometheus.engines.portfolio.schema import PORTFOLIO_SPEC
from prometheus.runtime import RuntimeStore
from prometheus.runtime.decision_log import DecisionLog
from prometheus_assets.engines.portfolio import build_portfolio_assets, portfolio_metadata, previous_target
from prometheus_assets.partitions import MarketScope


def _frame() -> pl.DataFrame:
    """Session 1: A 0.5, B 0.3; session 2: A 0.4, B exits (0), C 0.2."""
    return pl.DataFrame({
        "session": [date(2024, 1, 1)] * 2 + [date(2024, 1, 2)] * 3,
        "instrument": ["A", "B", "A", "B", "C"],
        "weight": [0.5, 0.3, 0.4, 0.0, 0.2],
    })  # fmt: skip


def test_asset_when_built_depends_on_every_upstream_engine_and_checks_both_tables() -> None:
    (asset,) = build_portfolio_assets(MarketScope(Market.US_EQ, Mode.BACKTEST))
    key = dg.AssetKey(["us_eq", PORTFOLIO_SPEC.output_table])
    assert asset.key == key
    deps = {k.path[-1] for k in asset.asset_deps[key]}
    assert {"regime_states", "stability_scores", "fragility_scores", "assessments", "universe_members"} <= deps
    checks = {c.name for c in asset.check_specs}
    assert any(c.startswith("risk_reports__") for c in checks)
    assert any(not c.startswith("risk_reports__") for c in checks)


def test_metadata_when_computed_counts_statuses_and_turnover() -> None:
    per = book_by_session(_frame())
    assert per["gross"].to_list() == pytest.approx([0.8, 0.6])
    assert per["names"].to_list() == [2, 2]
    assert per["turnover"][1] == pytest.approx((0.1 + 0.3 + 0.2) / 2)
    at = date(2024, 1, 1)
    decisions = (
        Decision(at, None, {"status": "optimal", "fallback": None}),  # type: ignore[arg-type]
        Decision(at, None, {"status": "hrp", "fallback": "hrp"}),  # type: ignore[arg-type]
    )
    meta = portfolio_metadata(_frame(), decisions)
    assert meta["fallback_sessions"] == 1
    assert meta["mean_turnover"] == pytest.approx(0.3)
    assert portfolio_metadata(_frame(), None)["statuses"].startswith("reused")
    assert portfolio_plot_png(_frame(), "t").startswith(b"\x89PNG")


def _target_rows(session: date, version: str, weights: dict[str, float]) -> pl.DataFrame:
    rows = [{"market": "US_EQ", "session": session, "decision_time": datetime(2024, 3, 1, 21, 5, tzinfo=UTC),
             "experiment": "e", "config_version": version, "instrument": k, "weight": v, "expected_return": 0.0,
             "risk_contribution": 0.0} for k, v in weights.items()]  # fmt: skip
    return pl.DataFrame(rows, schema=dict(PORTFOLIO_SPEC.schema))


def test_previous_target_when_the_session_before_was_decided_is_the_starting_book(tmp_path: Path) -> None:
    store = RuntimeStore(f"sqlite:///{tmp_path / 'runtime.sqlite'}")
    store.upgrade()
    log, cal = DecisionLog(store), get_calendar()
    first = date(2024, 3, 4)  # a Monday: the session before is Friday 1 March
    assert previous_target(log, cal, Market.US_EQ, "e", first) is None  # the first partition starts from cash
    log.write_output("target_portfolios", _target_rows(date(2024, 3, 1), "v1", {"AAA": 0.4, "BBB": 0.0}))
    book = previous_target(log, cal, Market.US_EQ, "e", first)
    assert book is not None
    assert dict(book.iter_rows()) == {"AAA": 0.4, "BBB": 0.0}
    assert previous_target(log, cal, Market.US_EQ, "other", first) is None  # experiments never mix
    log.write_output("target_portfolios", _target_rows(date(2024, 3, 1), "v2", {"AAA": 0.1}))
    assert previous_target(log, cal, Market.US_EQ, "e", first) is None  # two chains decided it: no guess
