"""Portfolio & Risk and Scenarios: one optimisation for 500 and 2,000 names, and scenario generation.

1. Risk model estimation (PCA, k = 20, 252 sessions) and one optimisation (Clarabel, factor form, costs, the default
   limits) for 500 and 2,000 names on returns from a known 20-factor model; median of ``--repeats`` runs
   (targets from the design: 0.2 s and 1 s per optimisation).
2. Scenario generation, 1,000 paths x 20 sessions x 500 names from the synthetic market's last 756 sessions: each
   generator on its own.

3. A whole run (``--run-names`` 500 names x ``--run-years`` 10 years, weekly rebalancing): the synthetic market is
   ingested into a temporary lake; the upstream inputs are built cheaply from the market's truth (universe = every
   name priced that session, assessment = the oracle signal scaled to a daily expected return, regime label = the
   true regime, a constant stability score, a small fragility score), then the Portfolio engine runs over every
   session after its lookback (``rebalance_every`` 5: risk model and optimisation weekly, targets held between) and
   the Scenarios engine on its rebalance sessions (``every_sessions`` 5, ``--scenario-paths`` paths x 20 sessions,
   every generator, paths written to the lake) with the portfolio's targets and the full regime history.
   Figures: wall time per engine and in total, per rebalance session, the portfolio's statuses and fallback counts,
   scenario breaches, peak RSS; and each engine's wall time by part (``parts_seconds``, the engines' ``timings``):
   for the portfolio the upstream index, panel windows, risk model, the optimiser's problem build (and compile)
   and its solver, the rest of each session, the output rows and frames; for the scenarios the panel windows,
   the generators, the valuation of the portfolios on the paths and the path files.

Prints the figures and writes JSON (``--out``, default ``$PROMETHEUS_DATA_ROOT/benchmarks/portfolio.json``).
``--quick`` is a smoke run (small optimisations, 60 names x 3 years, 200 paths over 250 sessions of history);
``--skip-run`` / ``--only-run`` choose the parts.

Usage: python benchmarks/bench_portfolio.py [--names 500 2000] [--repeats 5] [--run-names 500] [--run-years 10]
       [--scenario-paths 1000] [--quick] [--skip-run | --only-run] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import ingest_synthetic
from prometheus.data.known_at import decision_times
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig, SyntheticMarket, generate_market
from prometheus.data.synthetic.universe import SECTORS
from prometheus.engines.portfolio import (
    OptimiserConfig,
    PortfolioConfig,
    RiskModelConfig,
    default_limits,
    estimate_risk_model,
    optimise,
)
from prometheus.engines.portfolio.engine import FALLBACKS, PortfolioEngine
from prometheus.engines.runner import EngineOutput, history_view, run_sessions
from prometheus.engines.scenarios import ScenarioConfig, ScenarioPathStore, ScenariosEngine
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
    seconds, solver, statuses = [], [], []
    for _ in range(repeats):
        alpha = rng.normal(0.0, 0.002, n)
        result = optimise(alpha, risk, np.zeros(n), limits, cfg, adv=adv, sigma_daily=sigma, prices=prices,
                          equity=1e7)  # fmt: skip
        seconds.append(result.solve_seconds)
        solver.append(getattr(result, "solver_seconds", float("nan")))
        statuses.append(result.status)
    return {"names": n, "estimate_seconds": round(estimate, 3),
            "optimise_median_seconds": round(statistics.median(seconds), 3),
            "optimise_max_seconds": round(max(seconds), 3),
            "solver_median_seconds": round(statistics.median(solver), 3),
            "statuses": sorted(set(statuses))}  # fmt: skip


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


def _peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def _upstream(market: SyntheticMarket, sessions: list, delay: timedelta) -> dict[str, pl.DataFrame]:
    """Upstream frames from the market's truth, for ``sessions``: cheap, and known by each session's close.

    Universe: every name with a return that session. Assessment: the oracle signal (a standardised predictor of the
    next return) scaled to 5 bp per unit. Regime: the true regime's label. Stability: a constant 0.7. Fragility:
    a small score per name (sector index / 20).
    """
    times = pl.DataFrame({"session": sessions, "decision_time": decision_times(get_calendar(), Market.US_EQ,
                                                                            sessions, delay)})  # fmt: skip
    signals = market.truth.signals.select(pl.col("date").alias("session"), pl.col("symbol").alias("instrument"),
                                          "signal").join(times, on="session")  # fmt: skip
    sector = dict(zip(market.panel.universe.symbols.tolist(), market.panel.universe.sector.tolist(), strict=True))
    universe = signals.select("session", "decision_time", "instrument", pl.lit("stayed").alias("reason"))
    assessment = signals.select("session", "decision_time", "instrument",
                                (pl.col("signal").cast(pl.Float64) * 5e-4).alias("expected_return"))  # fmt: skip
    fragility = signals.select("session", "decision_time", "instrument",
                               (pl.col("instrument").replace_strict(sector, default=0).cast(pl.Float64) / 20.0)
                               .alias("score"))  # fmt: skip
    regime = market.truth.market.select(pl.col("date").alias("session"), pl.col("regime").cast(pl.String)
                                        .alias("label")).join(times, on="session")  # fmt: skip
    stability = times.with_columns(pl.lit("").alias("instrument"), pl.lit(0.7).alias("score"))
    return {"universe": universe, "assessment": assessment, "fragility": fragility, "regime": regime,
            "stability": stability}  # fmt: skip


def whole_run(names: int, years: int, paths: int, history: int, seed: int) -> dict[str, object]:
    """The Portfolio engine over every session of ``years`` after its lookback, weekly rebalancing, and the
    Scenarios engine on its rebalance sessions (see the module docstring)."""
    delay, cal = timedelta(minutes=5), get_calendar()
    cfg = SyntheticConfig(n_names=names, years=years, seed=seed)
    out: dict[str, object] = {
        "names": names,
        "years": years,
        "rebalance_every": 5,
        "scenario_paths": paths,
        "scenario_history": history,
    }
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = HistoricalStore(Path(tmp) / "lake")
        ingest_synthetic(store, Path(tmp), cfg, bar_delay=delay)
        market = generate_market(cfg)
        out["setup_seconds"] = round(time.perf_counter() - t0, 1)
        all_sessions = cal.sessions(Market.US_EQ, cfg.start, cfg.end)
        portfolio = PortfolioEngine(PortfolioConfig(rebalance_every=5), cal)
        scen_cfg = ScenarioConfig(paths=paths, horizon_sessions=20, every_sessions=5, history_sessions=history)
        first = max(portfolio.lookback_sessions, scen_cfg.history_sessions)
        sessions = all_sessions[first:]
        t0 = time.perf_counter()
        upstream = _upstream(market, all_sessions, delay)
        out["upstream_seconds"] = round(time.perf_counter() - t0, 1)

        t0 = time.perf_counter()
        view = history_view(store, cal, Market.US_EQ, sessions, [portfolio], delay)
        targets, _ = run_sessions(portfolio, view, cal, Market.US_EQ, sessions, "bench", bar_delay=delay,
                                  upstream={k: _output(k, v) for k, v in upstream.items()})  # fmt: skip
        port_seconds = time.perf_counter() - t0
        risk = targets.extra["risk_reports"]
        statuses = Counter(r["status"] for r in risk["report"].to_list()) if "report" in risk.columns else Counter()
        rebalances = len(sessions[::5])
        out["portfolio"] = {
            "sessions": len(sessions), "rebalances": rebalances, "seconds": round(port_seconds, 1),
            "ms_per_session": round(1000 * port_seconds / len(sessions), 1),
            "seconds_per_rebalance": round(port_seconds / rebalances, 3), "statuses": dict(statuses),
            "fallbacks": {k: statuses.get(k, 0) for k in FALLBACKS},
            "rows": targets.frame.height, "peak_rss_mb": _peak_rss_mb(),
            "parts_seconds": _parts(portfolio),
        }  # fmt: skip
        print(f"portfolio: {out['portfolio']}", flush=True)

        t0 = time.perf_counter()
        scenarios = ScenariosEngine(scen_cfg, cal, paths=ScenarioPathStore(Path(tmp) / "lake"))
        view = history_view(store, cal, Market.US_EQ, sessions, [scenarios], delay)
        ups = {"regime": _output("regime", upstream["regime"]), "portfolio": targets}
        sets, summary = run_sessions(scenarios, view, cal, Market.US_EQ, sessions, "bench", bar_delay=delay,
                                     upstream=ups)  # fmt: skip
        scen_seconds = time.perf_counter() - t0
        chosen = sets.frame["session"].n_unique()
        worst = sets.frame.group_by("session").agg(pl.col("definition").struct.field("portfolio_es").max())
        files = list((Path(tmp) / "lake" / "scenario_paths").rglob("*.parquet"))
        out["scenarios"] = {
            "rebalance_sessions": chosen, "sets": sets.frame.height, "seconds": round(scen_seconds, 1),
            "seconds_per_rebalance": round(scen_seconds / max(chosen, 1), 3),
            "max_worst_es": float(worst["portfolio_es"].max() or 0.0),
            "path_files": len(files), "path_mb": round(sum(f.stat().st_size for f in files) / 2**20, 1),
            "notes": len(summary.notes), "peak_rss_mb": _peak_rss_mb(), "parts_seconds": _parts(scenarios),
        }  # fmt: skip
        print(f"scenarios: {out['scenarios']}", flush=True)
    out["total_seconds"] = round(port_seconds + scen_seconds, 1)
    out["seconds_per_rebalance"] = round((port_seconds + scen_seconds) / max(rebalances, 1), 3)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def _parts(engine: object) -> dict[str, float]:
    """The engine's wall seconds by part of its last run (empty for an engine without ``timings``)."""
    return {k: round(v, 2) for k, v in getattr(engine, "timings", {}).items()}


def _output(name: str, frame: pl.DataFrame) -> EngineOutput:
    return EngineOutput(name, f"bench-{name}", frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, nargs="*", default=[500, 2000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scenario-names", type=int, default=500)
    parser.add_argument("--run-names", type=int, default=500)
    parser.add_argument("--run-years", type=int, default=10)
    parser.add_argument("--scenario-paths", type=int, default=1000)
    parser.add_argument("--scenario-history", type=int, default=756)
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes everywhere")
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument("--skip-run", action="store_true", help="no whole run")
    parts.add_argument("--only-run", action="store_true", help="only the whole run")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.names, args.repeats, args.scenario_names = [100], 2, 60
        args.run_names, args.run_years, args.scenario_paths, args.scenario_history = 60, 3, 200, 250
    result: dict[str, object] = {"benchmark": "portfolio", "cpu_count": os.cpu_count(), "quick": args.quick}
    if not args.only_run:
        result["optimisation"] = [optimisation(n, args.repeats) for n in args.names]
        result["scenarios"] = {"paths": 1000, "horizon": 20, "names": args.scenario_names,
                               **scenarios(args.scenario_names, seed=42)}  # fmt: skip
    if not args.skip_run:
        result["whole_run"] = whole_run(
            args.run_names, args.run_years, args.scenario_paths, args.scenario_history, seed=42
        )
    result["load_average"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "portfolio.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
