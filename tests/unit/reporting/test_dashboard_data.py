"""Dashboard reads against a small runtime store with known rows (tests.support.dashboard_kit), on PostgreSQL
and SQLite: each panel's figures are the seeded ones, computed by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from prometheus.calendar import get_calendar
from prometheus.core.types import Market, MarketState
from prometheus.execution.kill_switch import KillSwitch
from prometheus.execution.types import TradingState
from prometheus.reporting import dashboard_data as dd
from prometheus.runtime import RuntimeStore
from tests.support import dashboard_kit as kit
from tests.support.pg import fresh_pg_database


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeStore]:
    """One seeded store per backend, shared by the read-only tests of this module."""
    if request.param == "sqlite":
        s = RuntimeStore(f"sqlite:///{tmp_path_factory.mktemp('dash') / 'runtime.sqlite'}")
        kit.seed_dashboard_store(s)
        yield s
        s.close()
        return
    with fresh_pg_database() as url:
        s = RuntimeStore(url)
        kit.seed_dashboard_store(s)
        yield s
        s.close()


US = Market.US_EQ


def test_list_experiments_when_seeded_lists_live_then_backtests(store: RuntimeStore) -> None:
    found = dd.list_experiments(store)
    assert [e.experiment for e in found] == [kit.LIVE, kit.BACKTEST]
    assert found[1].status == "SUCCEEDED"
    assert found[1].markets == (kit.MARKET,)
    assert (found[1].first_session, found[1].last_session) == (kit.SESSIONS[-3], kit.LAST)


def test_markets_of_when_experiment_has_rows_lists_its_markets(store: RuntimeStore) -> None:
    assert dd.markets_of(store, kit.LIVE) == [US, Market.EU_EQ]
    assert dd.markets_of(store, kit.BACKTEST) == [US]
    assert dd.markets_of(store, "no-such-experiment") == []


def test_market_clock_when_open_gives_calendar_state_next_close_and_recorded_state(store: RuntimeStore) -> None:
    clock = dd.market_clock(store, get_calendar(), US, kit.NOW)
    assert clock.state is MarketState.OPEN
    assert clock.next_state is MarketState.POST_CLOSE
    assert clock.next_at == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)  # 16:00 New York
    assert clock.recorded_state is MarketState.OPEN
    assert clock.recorded_at == kit.NOW - timedelta(hours=1)


def test_regime_view_when_seeded_shows_latest_version_and_history(store: RuntimeStore) -> None:
    view = dd.regime_view(store, US, kit.LIVE)
    assert (view.session, view.label, view.state) == (kit.LAST, "crisis", 2)
    assert view.confidence == pytest.approx(0.7)
    assert view.probabilities == pytest.approx(kit.PROBABILITIES[-1])
    # The five sessions of version v1, oldest first; the v0 row of the first session is not mixed in.
    assert view.history["session"].to_list() == list(kit.SESSIONS)
    assert view.history["label"].to_list() == list(kit.LABELS)
    assert view.history["p2"].to_list() == pytest.approx([p[2] for p in kit.PROBABILITIES])


def test_regime_view_when_backtest_reads_only_that_experiment(store: RuntimeStore) -> None:
    view = dd.regime_view(store, US, kit.BACKTEST)
    assert (view.label, view.history.height) == ("calm", 1)


def test_regime_view_when_no_rows_is_empty(store: RuntimeStore) -> None:
    view = dd.regime_view(store, Market.JP_EQ, kit.LIVE)
    assert (view.session, view.label, view.probabilities, view.history.height) == (None, None, (), 0)


def test_stability_view_when_seeded_lists_least_stable_sectors_first(store: RuntimeStore) -> None:
    view = dd.stability_view(store, US, kit.LIVE, top=2)
    assert view.session == kit.LAST
    assert view.market_score == pytest.approx(0.42)
    assert view.components["absorption_ratio"] == pytest.approx(0.61)
    assert view.hot_spots["sector"].to_list() == ["Technology", "Energy"]
    assert view.hot_spots["turbulent"].to_list() == [True, False]


def test_fragility_view_when_seeded_lists_most_crowded_and_flagged_clusters(store: RuntimeStore) -> None:
    view = dd.fragility_view(store, US, kit.LIVE)
    assert view.hot_spots["instrument"].to_list() == ["AAA", "BBB", "CCC"]
    assert view.hot_spots["score"].to_list() == pytest.approx([0.9, 0.5, 0.1])
    assert view.flagged_clusters["cluster"].to_list() == ["AAA"]  # cluster:CCC is not flagged


def test_portfolio_view_when_seeded_joins_targets_and_positions(store: RuntimeStore) -> None:
    view = dd.portfolio_view(store, US, kit.LIVE)
    assert (view.target_session, view.position_session) == (kit.LAST, kit.LAST)
    assert view.equity == pytest.approx(1_012_500.0)
    assert view.cash == pytest.approx(kit.CASH_BALANCE)
    rows = {r["instrument"]: r for r in view.holdings.to_dicts()}
    assert set(rows) == {"AAA", "BBB", "CCC", "DDD"}
    assert rows["AAA"]["target_weight"] == pytest.approx(0.25)
    assert rows["AAA"]["average_price"] == pytest.approx(100.0)
    assert rows["AAA"]["weight_at_cost"] == pytest.approx(10_000 / 1_012_500)
    assert rows["DDD"]["target_weight"] is None  # held, no target
    assert rows["BBB"]["quantity"] == 0.0


def test_risk_view_when_seeded_gives_ex_ante_figures_and_exposures(store: RuntimeStore) -> None:
    view = dd.risk_view(store, US, kit.LIVE)
    assert (view.ex_ante_vol, view.var_95, view.es_95) == pytest.approx((0.12, 0.0124, 0.0156))
    assert (view.report["gross"], view.report["net"], view.report["status"]) == (0.35, 0.15, "optimal")


def test_pnl_view_when_live_uses_cash_equity(store: RuntimeStore) -> None:
    view = dd.pnl_view(store, US, kit.LIVE)
    assert view.source == "cash"
    assert (view.equity, view.day_pnl, view.total_pnl) == pytest.approx((1_012_500.0, 12_500.0, 12_500.0))
    assert view.total_return == pytest.approx(0.0125)


def test_pnl_view_when_backtest_uses_backtest_daily(store: RuntimeStore) -> None:
    view = dd.pnl_view(store, US, kit.BACKTEST)
    assert view.source == "backtest_daily"
    assert view.history["equity"].to_list() == pytest.approx(list(kit.BACKTEST_EQUITY))
    assert (view.day_pnl, view.total_pnl) == pytest.approx((-1.5, -0.5))


def test_pnl_view_when_no_equity_is_empty(store: RuntimeStore) -> None:
    view = dd.pnl_view(store, Market.JP_EQ, kit.LIVE)
    assert (view.last_session, view.equity, view.day_pnl, view.history.height) == (None, None, None, 0)


def test_open_orders_when_seeded_leave_out_terminal_orders(store: RuntimeStore) -> None:
    found = dd.open_orders(store, US, kit.LIVE)
    assert found["order_ref"].to_list() == ["live-US_EQ-AAA-1", "live-US_EQ-BBB-1"]
    assert found["status"].to_list() == ["SUBMITTED", "PARTIALLY_FILLED"]
    assert dd.open_orders(store, US, kit.BACKTEST).height == 0


def test_recent_alerts_when_market_given_adds_platform_wide_ones(store: RuntimeStore) -> None:
    assert dd.recent_alerts(store, US)["message"].to_list() == ["IB gateway reconnected", "us_eq daily cycle failed"]
    assert dd.recent_alerts(store)["severity"].to_list() == ["INFO", "WARNING", "CRITICAL"]
    assert dd.recent_alerts(store, Market.EU_EQ, open_only=True)["message"].to_list() == ["IB gateway reconnected"]


def test_open_alert_count_when_seeded_counts_unacknowledged_of_market_and_platform(store: RuntimeStore) -> None:
    assert dd.open_alert_count(store, US) == 2
    assert dd.open_alert_count(store, Market.EU_EQ) == 1  # its own alert is acknowledged


def test_overview_when_seeded_summarises_each_market(store: RuntimeStore) -> None:
    us, eu = dd.overview(store, get_calendar(), kit.LIVE, kit.NOW)
    assert (us.clock.market, eu.clock.market) == (US, Market.EU_EQ)
    assert (us.regime_label, us.equity, us.day_pnl) == ("crisis", 1_012_500.0, 12_500.0)
    assert (us.open_orders, us.open_alerts) == (2, 2)
    # EU_EQ: its own regime and account, no orders; the platform-wide alert is open there too.
    assert (eu.regime_label, eu.equity, eu.day_pnl) == ("normal", 497_000.0, -3_000.0)
    assert (eu.open_orders, eu.open_alerts) == (0, 1)
    # 16:00 Berlin: Xetra is open until its 17:30 close (16:30 UTC).
    assert (eu.clock.state, eu.clock.next_at) == (MarketState.OPEN, datetime(2026, 11, 30, 16, 30, tzinfo=UTC))


def test_market_page_when_seeded_collects_every_panel(store: RuntimeStore) -> None:
    page = dd.market_page(store, get_calendar(), US, kit.LIVE, kit.NOW)
    assert page.kill_switch.state is TradingState.ACTIVE
    assert page.kill_switch.history[0].reason == "seeded"
    assert (page.regime.label, page.portfolio.holdings.height, page.open_orders.height) == ("crisis", 4, 2)


def test_halt_when_called_writes_through_the_kill_switch(tmp_path: Path) -> None:
    with fresh_pg_database() as url:
        store = RuntimeStore(url)
        store.upgrade()
        assert dd.kill_switch_view(store).state is TradingState.ACTIVE
        change = dd.halt(store, "desk call", "dashboard:test", clock=lambda: kit.NOW)
        assert (change.state, change.set_at) == (TradingState.HALTED, kit.NOW)
        assert KillSwitch(store).state() is TradingState.HALTED
        view = dd.kill_switch_view(store)
        assert (view.state, view.history[0].reason, view.history[0].set_by) == (
            TradingState.HALTED, "desk call", "dashboard:test"
        )  # fmt: skip
        store.close()
