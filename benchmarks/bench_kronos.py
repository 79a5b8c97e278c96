"""Decision outcomes and one Kronos pass for ``--names`` x ``--years`` of decisions (issue 21).

The synthetic market is ingested into a temporary lake. One decision per session is written for each outcome
engine into a temporary SQLite runtime store, with per-name outputs for the assessment (a score per listed name),
fragility (a score per name) and the portfolio (equal weights over the first 50 names, and a risk report). The
values are draws, not an engine's: the figures time reading, computing and writing. Regime labels come from the
generator's truth. Then :func:`prometheus.meta.outcomes_for_sessions` runs once over every session (horizons 1, 5
and 21, all engines) and writes its rows, and :func:`prometheus.meta.kronos.build_report` runs one analysis
pass on them.

Prints the figures and writes JSON (``--out``, default ``$PROMETHEUS_DATA_ROOT/benchmarks/kronos_bench.json``).

Usage: python benchmarks/bench_kronos.py [--names 500] [--years 10] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import ingest_synthetic
from prometheus.data.known_at import decision_times
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig, generate_market
from prometheus.data.timemachine import TimeMachine
from prometheus.meta import outcomes_for_sessions, write_outcomes
from prometheus.meta.kronos import build_report
from prometheus.runtime import RuntimeStore
from prometheus.runtime.decision_log import DecisionLog, DecisionRow


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def _seed_decisions(log: DecisionLog, market_truth: pl.DataFrame, symbols: list[str], sessions: list,
                    times: tuple, rng: np.random.Generator) -> int:  # fmt: skip
    """One decision per session and engine, and the per-name outputs the outcomes read; returns rows written."""
    regime = dict(zip(market_truth["date"].to_list(), market_truth["regime"].cast(pl.String).to_list(), strict=True))
    rows = 0
    for engine in ("regime", "stability", "fragility", "assessment", "portfolio"):
        decisions = [DecisionRow(d, t, {"label": regime.get(d, "calm"), "score": float(rng.random())})
                     for d, t in zip(sessions, times, strict=True)]  # fmt: skip
        rows += log.write_decisions(engine, market="US_EQ", experiment="bench", config_version=f"{engine}-v",
                                    decisions=decisions)  # fmt: skip
    n, k = len(symbols), len(sessions)
    base = {"market": ["US_EQ"] * (n * k), "session": np.repeat(np.array(sessions), n).tolist(),
            "decision_time": np.repeat(np.array(times, dtype=object), n).tolist(), "experiment": ["bench"] * (n * k),
            "instrument": symbols * k}  # fmt: skip
    scores = rng.normal(size=n * k)
    assessments = pl.DataFrame(base | {"config_version": ["assessment-v"] * (n * k), "score": scores,
                                       "expected_return": scores * 1e-4, "horizon_sessions": [5] * (n * k),
                                       "model_version": ["m"] * (n * k), "details": [{}] * (n * k)})  # fmt: skip
    rows += log.write_output("assessments", assessments)
    fragility = pl.DataFrame(base | {"config_version": ["fragility-v"] * (n * k), "score": rng.random(n * k),
                                     "components": [{}] * (n * k)})  # fmt: skip
    rows += log.write_output("fragility_scores", fragility)
    held = symbols[:50]
    m = len(held)
    targets = pl.DataFrame({"market": ["US_EQ"] * (m * k), "session": np.repeat(np.array(sessions), m).tolist(),
                            "decision_time": np.repeat(np.array(times, dtype=object), m).tolist(),
                            "experiment": ["bench"] * (m * k), "config_version": ["portfolio-v"] * (m * k),
                            "instrument": held * k, "weight": [1.0 / m] * (m * k)})  # fmt: skip
    rows += log.write_output("target_portfolios", targets)
    risk = pl.DataFrame({"market": ["US_EQ"] * k, "session": sessions, "decision_time": list(times),
                         "experiment": ["bench"] * k, "config_version": ["portfolio-v"] * k,
                         "ex_ante_vol": [0.1] * k, "report": [{}] * k})  # fmt: skip
    rows += log.write_output("risk_reports", risk)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    delay, cal, rng = timedelta(minutes=5), get_calendar(), np.random.default_rng(0)
    cfg = SyntheticConfig(n_names=args.names, years=args.years)
    out: dict[str, object] = {"benchmark": "kronos", "names": args.names, "years": args.years,
                              "cpu_count": os.cpu_count()}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        store = HistoricalStore(Path(tmp) / "lake")
        ingest_synthetic(store, Path(tmp), cfg, bar_delay=delay)
        truth = generate_market(cfg).truth.market
        sessions = cal.sessions(Market.US_EQ, cfg.start, cfg.end)
        times = decision_times(cal, Market.US_EQ, sessions, delay)
        symbols = sorted(store.read("instruments", columns=["symbol"])["symbol"].unique().to_list())
        with RuntimeStore(f"sqlite:///{Path(tmp) / 'runtime.sqlite'}") as runtime:
            runtime.upgrade()
            log = DecisionLog(runtime)
            t0 = time.perf_counter()
            out["seed_rows"] = _seed_decisions(log, truth, symbols, sessions, times, rng)
            out["seed_seconds"] = round(time.perf_counter() - t0, 1)
            print(f"seeded {out['seed_rows']} rows in {out['seed_seconds']} s", flush=True)
            t0 = time.perf_counter()
            frame = outcomes_for_sessions(log, TimeMachine(store, times[-1] + timedelta(days=1)), cal, Market.US_EQ,
                                          "bench", sessions, bar_delay=delay)  # fmt: skip
            computed = time.perf_counter() - t0
            written = write_outcomes(runtime, frame)
            out["outcomes"] = {"rows": written, "compute_seconds": round(computed, 1),
                               "write_seconds": round(time.perf_counter() - t0 - computed, 1),
                               "peak_rss_mb": _peak_rss_mb()}  # fmt: skip
            print(f"outcomes: {out['outcomes']}", flush=True)
            t0 = time.perf_counter()
            report = build_report(runtime, Market.US_EQ, "bench")
            out["kronos"] = {"seconds": round(time.perf_counter() - t0, 1), "slices": report.slices.height,
                             "findings": len(report.findings), "peak_rss_mb": _peak_rss_mb()}  # fmt: skip
            print(f"kronos: {out['kronos']}", flush=True)
    print(json.dumps(out, indent=2))
    target = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "kronos_bench.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2))
    print(f"written to {target}")


if __name__ == "__main__":
    main()
