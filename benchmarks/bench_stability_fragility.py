"""Stability and Fragility engine times for the synthetic market, 500 names x 10 years, every session decided.

Each engine runs once over all sessions from the first it can score (its lookback after the first session) to
the last, reading history through one TimeMachine view per block of sessions as in production.

Usage: python benchmarks/bench_stability_fragility.py [--out FILE] [--names 500] [--years 10]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import ingest_synthetic
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig
from prometheus.engines.fragility import FragilityConfig, FragilityEngine
from prometheus.engines.runner import history_view, run_sessions
from prometheus.engines.stability import StabilityConfig, StabilityEngine


def _time(name: str, engine: object, store: HistoricalStore, sessions: list, delay: timedelta) -> dict:
    cal = get_calendar()
    t0 = time.perf_counter()
    view = history_view(store, cal, Market.US_EQ, sessions, [engine], delay)
    out, summary = run_sessions(engine, view, cal, Market.US_EQ, sessions, "bench", bar_delay=delay)
    seconds = time.perf_counter() - t0
    return {"engine": name, "sessions": len(sessions), "rows": summary.rows, "seconds": round(seconds, 2),
            "ms_per_session": round(1000 * seconds / len(sessions), 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()
    delay, market = timedelta(minutes=5), SyntheticConfig(n_names=args.names, years=args.years)
    with tempfile.TemporaryDirectory() as tmp:
        store = HistoricalStore(Path(tmp) / "lake")
        ingest_synthetic(store, Path(tmp), market, bar_delay=delay)
        all_sessions = get_calendar().sessions(Market.US_EQ, market.start, market.end)
        cal = get_calendar()
        stability, fragility = StabilityEngine(StabilityConfig(), cal), FragilityEngine(FragilityConfig(), cal)
        results = [
            _time("stability", stability, store, all_sessions[stability.lookback_sessions :], delay),
            _time("fragility", fragility, store, all_sessions[fragility.lookback_sessions :], delay),
        ]
    report = {"benchmark": "stability_fragility", "names": args.names, "years": args.years,
              "cpu_count": os.cpu_count(), "results": results}  # fmt: skip
    print(json.dumps(report, indent=2))
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "stability_fragility.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
