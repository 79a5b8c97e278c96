"""Stability and Fragility engine times and peak memory for the synthetic market, 500 names x 10 years.

Per engine, each in its own process (so each peak RSS is that run's own):

- ``full``: every session from the first it can score (its lookback after the first session) to the last but one,
  as one run; Stability saves its checkpoint at the end of it;
- ``one``: the last session alone, as a daily PAPER/LIVE run: Stability resumed from the checkpoint of the session
  before (``one``) and, for comparison, replaying its warm-up (``one_fresh``); Fragility keeps no state.

Every run loads its own TimeMachine snapshot over the engine's lookback as in production (that time is included).
``cpu_seconds`` (process CPU time) is the steadier figure on a shared machine; ``seconds`` is wall time.

Usage: python benchmarks/bench_stability_fragility.py [--out FILE] [--names 500] [--years 10] [--data-root DIR]
(``--data-root`` reuses a market already ingested there, e.g. by an earlier call with the same flag).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
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
from prometheus.engines.stability import CheckpointStore, StabilityConfig, StabilityEngine

DELAY = timedelta(minutes=5)
#: (engine, run) measured, in order: the full run must precede Stability's resumed one-session run.
RUNS = (("stability", "full"), ("stability", "one"), ("stability", "one_fresh"), ("fragility", "full"),
        ("fragility", "one"))  # fmt: skip


def _child(engine_name: str, run: str, root: Path, names: int, years: int) -> dict:
    """One measured run in this process; returns its figures."""
    market, cal = SyntheticConfig(n_names=names, years=years), get_calendar()
    store = HistoricalStore(root / "lake")
    checkpoints = CheckpointStore(root / "lake" / "checkpoints") if run != "one_fresh" else None
    engine: StabilityEngine | FragilityEngine
    if engine_name == "stability":
        engine = StabilityEngine(StabilityConfig(), cal, checkpoints)
    else:
        engine = FragilityEngine(FragilityConfig(), cal)
    all_sessions = cal.sessions(Market.US_EQ, market.start, market.end)
    sessions = all_sessions[engine.lookback_sessions : -1] if run == "full" else all_sessions[-1:]
    t0, c0 = time.perf_counter(), time.process_time()
    view = history_view(store, cal, Market.US_EQ, sessions, [engine], DELAY)
    loaded = time.perf_counter() - t0
    _, summary = run_sessions(engine, view, cal, Market.US_EQ, sessions, "bench", bar_delay=DELAY)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    resumed = getattr(engine, "resumed_from", None)
    return {"engine": engine_name, "run": run, "sessions": len(sessions), "rows": summary.rows,
            "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "load_seconds": round(loaded, 2),
            "ms_per_session": round(1000 * seconds / len(sessions), 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "resumed_from": resumed.isoformat() if resumed else None}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "RUN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], args.child[1], args.data_root, args.names, args.years)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_root or Path(tmp)
        if not (root / "lake").exists():
            market = SyntheticConfig(n_names=args.names, years=args.years)
            ingest_synthetic(HistoricalStore(root / "lake"), root, market, bar_delay=DELAY)
        results = []
        for engine_name, run in RUNS:
            cmd = [sys.executable, __file__, "--child", engine_name, run, "--data-root", str(root),
                   "--names", str(args.names), "--years", str(args.years)]  # fmt: skip
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), flush=True)
    report = {"benchmark": "stability_fragility", "names": args.names, "years": args.years,
              "cpu_count": os.cpu_count(), "results": results}  # fmt: skip
    print(json.dumps(report, indent=2))
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "stability_fragility.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
