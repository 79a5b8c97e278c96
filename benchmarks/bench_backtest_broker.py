"""Benchmark: BacktestBroker, 500 names x 10 years, monthly rebalancing to equal weights at the close.

Prices are a seeded geometric random walk generated here. Prints wall time, orders/s and peak RSS for costs
off and costs on, and writes them as JSON (``--out``, default $PROMETHEUS_DATA_ROOT/benchmarks/).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from prometheus.core.costs import CostConfig
from prometheus.execution import (
    BacktestBroker,
    MarketPanel,
    OrderPlanner,
    OrderType,
    PlannerConfig,
    PlanningInput,
    SimulatorConfig,
)


def make_panel(n_names: int, n_years: int, seed: int) -> MarketPanel:
    """Seeded random-walk closes (the adjusted close) and volumes on weekdays."""
    rng = np.random.default_rng(seed)
    start, end = date(2010, 1, 1), date(2010 + n_years, 1, 1)
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    sessions = [d for d in days if d.weekday() < 5]
    n_t = len(sessions)
    rets = rng.normal(0.0003, 0.02, size=(n_t, n_names))
    close = 50.0 * np.exp(np.cumsum(rets, axis=0))
    volume = rng.uniform(1e6, 5e6, size=(n_t, n_names)).round()
    ts = [datetime(d.year, d.month, d.day, 21, 0, tzinfo=UTC) for d in sessions]
    names = [f"S{i:04d}" for i in range(n_names)]
    return MarketPanel.from_ohlcv(sessions, ts, names, {"close": close, "volume": volume})


def rebalance_days(sessions: list[date]) -> list[date]:
    """First session of every month."""
    return [d for i, d in enumerate(sessions) if i == 0 or d.month != sessions[i - 1].month]


def run(panel: MarketPanel, costs: CostConfig | None) -> dict[str, float]:
    """One backtest; returns timing and result figures."""
    sim = SimulatorConfig(max_participation=None if costs is None else 0.1, costs=costs)
    planner = OrderPlanner(PlannerConfig(order_type=OrderType.MOC, fractional_shares=costs is None))
    n = len(panel.instruments)
    weights = np.full(n, 1.0 / n)
    t0 = time.perf_counter()
    broker = BacktestBroker(panel, sim, initial_cash=100_000_000.0)
    n_orders = 0
    for s, day in enumerate(panel.sessions):
        if day not in _REBAL:
            continue
        broker.advance_to(panel.sessions[s - 1]) if s else None
        plan = PlanningInput(
            account="bench",
            session=day,
            instruments=panel.instruments,
            target_weights=weights,
            positions=broker.position_vector(),
            prices=panel.close[s],
            equity=broker.equity_at(day),
            adv=panel.adv[s],
        )
        n_orders += len(broker.submit_many(planner.plan(plan)))
    broker.run_to_end()
    curve = broker.equity_curve()
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "orders": n_orders,
        "fills": len(broker.fills()),
        "orders_per_s": n_orders / wall,
        "final_equity": float(curve["equity"][-1]),
        "total_costs": float(sum(curve[k][-1] for k in ("commission", "fees", "spread", "impact", "borrow"))),
    }


_REBAL: set[date] = set()


def main() -> None:
    """Run both cases and write the JSON figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    panel = make_panel(args.names, args.years, args.seed)
    _REBAL.update(rebalance_days(list(panel.sessions)))
    results = {"costs_off": run(panel, None), "costs_on": run(panel, CostConfig())}
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["ratio_on_off"] = results["costs_on"]["wall_s"] / results["costs_off"]["wall_s"]
    results["shape"] = {"names": args.names, "years": args.years, "sessions": len(panel.sessions)}
    print(json.dumps(results, indent=2))
    root = Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks"
    out = args.out or root / "backtest_broker.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
