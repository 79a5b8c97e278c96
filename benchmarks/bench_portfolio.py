"""Portfolio & Risk and Scenarios: one optimisation for 500 and 2,000 names, and scenario generation.

1. Risk model estimation (PCA, k = 20, 252 sessions) and one optimisation (Clarabel, factor form, costs, the default
   limits) for 500 and 2,000 names on returns from a known 20-factor model; median of ``--repeats`` runs
   (targets from the design: 0.2 s and 1 s per optimisation).
2. Scenario generation, 1,000 paths x 20 sessions x 500 names from the synthetic market's last 756 sessions: each
   generator on its own.

Prints the figures and writes JSON (``--out``, default ``$PROMETHEUS_DATA_ROOT/benchmarks/portfolio.json``). A whole
10-year run at weekly rebalancing is not here yet (it needs the upstream engines' outputs).

Usage: python benchmarks/bench_portfolio.py [--names 500 2000] [--repeats 5] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from prometheus.data.synthetic import SyntheticConfig, generate_market
from prometheus.data.synthetic.universe import SECTORS
from prometheus.engines.portfolio import OptimiserConfig, RiskModelConfig, default_limits, estimate_risk_model, optimise
from prometheus.engines.scenarios import ScenarioConfig
from prometheus.engines.scenarios.generators import (
    block_bootstrap,
    filtered_historical,
    regime_bootstrap,
    scenario_rng,
    shocks,
)


def _returns(n: int, sessions: int, factors: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0.0, 1.0, (n, factors)) * 0.004
    loadings[:, 0] = rng.normal(1.0, 0.3, n) * 0.01  # a market factor
    f = rng.standard_normal((sessions, factors))
    e = rng.standard_normal((sessions, n)) * 0.015
    sectors = np.array([f"S{i % 11}" for i in range(n)])
    return f @ loadings.T + e, sectors


def optimisation(n: int, repeats: int) -> dict[str, float]:
    returns, sectors = _returns(n, 252, 20, seed=n)
    symbols = np.array([f"N{i:04d}" for i in range(n)])
    t0 = time.perf_counter()
    risk = estimate_risk_model(returns, symbols, sectors, RiskModelConfig())
    estimate = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    cfg, limits = OptimiserConfig(), default_limits()
    prices = np.full(n, 50.0)
    adv = np.full(n, 2e6 / 50.0)
    sigma = np.sqrt(np.diag(risk.covariance()))
    seconds, statuses = [], []
    for _ in range(repeats):
        alpha = rng.normal(0.0, 0.002, n)
        result = optimise(alpha, risk, np.zeros(n), limits, cfg, adv=adv, sigma_daily=sigma, prices=prices,
                          equity=1e7)  # fmt: skip
        seconds.append(result.solve_seconds)
        statuses.append(result.status)
    return {"names": n, "estimate_seconds": round(estimate, 3),
            "optimise_median_seconds": round(statistics.median(seconds), 3),
            "optimise_max_seconds": round(max(seconds), 3), "statuses": sorted(set(statuses))}  # fmt: skip


def scenarios(names: int, seed: int) -> dict[str, float]:
    market = generate_market(SyntheticConfig(n_names=names, years=10, seed=seed))
    cfg = ScenarioConfig(paths=1000, horizon_sessions=20)
    window = market.panel.returns.total[-cfg.history_sessions :]
    regimes = market.panel.regimes[-cfg.history_sessions :]
    sectors = np.asarray(SECTORS)[market.panel.universe.sector].astype(str)
    runs = {
        "filtered_historical": lambda: filtered_historical(window, cfg, scenario_rng(0, "fhs"), sectors=sectors),
        "block_bootstrap": lambda: block_bootstrap(window, cfg, scenario_rng(0, "block"), sectors=sectors),
        "regime_bootstrap": lambda: regime_bootstrap(
            window, regimes, int(regimes[-1]), cfg, scenario_rng(0, "regime"), sectors=sectors
        ),  # fmt: skip
        "shocks": lambda: shocks(window, sectors, cfg, scenario_rng(0, "shock")),
    }
    out: dict[str, float] = {}
    for name, run in runs.items():
        t0 = time.perf_counter()
        run()
        out[f"{name}_seconds"] = round(time.perf_counter() - t0, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, nargs="*", default=[500, 2000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scenario-names", type=int, default=500)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = {
        "optimisation": [optimisation(n, args.repeats) for n in args.names],
        "scenarios": {
            "paths": 1000,
            "horizon": 20,
            "names": args.scenario_names,
            **scenarios(args.scenario_names, seed=42),
        },  # fmt: skip
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(result, indent=2))
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "portfolio.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
