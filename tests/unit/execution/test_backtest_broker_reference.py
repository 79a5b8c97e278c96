"""BacktestBroker vs an independent NumPy reference: monthly fixed weights, fractional shares, costs off."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from prometheus.execution import (
    BacktestBroker,
    MarketPanel,
    OrderPlanner,
    OrderType,
    PlannerConfig,
    PlanningInput,
    SimulatorConfig,
)
from tests.support.equity_reference import fixed_weight_equity


def _panel(n_t: int, n: int, seed: int) -> MarketPanel:
    rng = np.random.default_rng(seed)
    days = [d for d in (date(2020, 1, 1) + timedelta(i) for i in range(2 * n_t)) if d.weekday() < 5][:n_t]
    close = 20 * np.exp(np.cumsum(rng.normal(0.0002, 0.02, (n_t, n)), axis=0))
    ts = [datetime(d.year, d.month, d.day, 21, tzinfo=UTC) for d in days]
    return MarketPanel.from_ohlcv(
        days, ts, [f"N{i}" for i in range(n)], {"close": close, "volume": np.full_like(close, 1e6)}
    )


def test_equity_when_monthly_fixed_weights_costs_off_matches_reference_to_1e9() -> None:
    panel = _panel(400, 12, seed=5)
    weights = np.linspace(0.02, 0.14, 12)  # sums to 0.96: 4 % stays in cash
    sessions = list(panel.sessions)
    rebalance = np.array([i == 0 or d.month != sessions[i - 1].month for i, d in enumerate(sessions)])
    broker = BacktestBroker(panel, SimulatorConfig(costs=None, max_participation=None), 1_000_000.0)
    planner = OrderPlanner(PlannerConfig(order_type=OrderType.MOC, fractional_shares=True))
    for s in np.flatnonzero(rebalance):
        day = sessions[s]
        inp = PlanningInput(
            "xcheck", day, panel.instruments, weights, broker.position_vector(), panel.close[s], broker.equity_at(day)
        )
        broker.submit_many(planner.plan(inp))
        broker.advance_to(day)
    broker.run_to_end()
    got = broker.equity_curve()["equity"].to_numpy()
    expected = fixed_weight_equity(panel.close, weights, rebalance, 1_000_000.0)
    assert rebalance.sum() >= 18
    assert np.max(np.abs(got / expected - 1.0)) < 1e-9
