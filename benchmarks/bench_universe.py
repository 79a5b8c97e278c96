"""Universe engine on the synthetic market, 500 names x 10 years, every session decided: time, size, turnover.

Runs the engine through the production runner (``history_view`` then ``run_sessions``, so ``quarantine`` comes
from the lake) with three rank bands: the defaults (450 / 550), a band around half the names (225 / 275) and no
band (250 / 250), and prints members per session, mean daily turnover, exits by reason and ms per session.

Usage: python benchmarks/bench_universe.py [--out FILE] [--names 500] [--years 10]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import polars as pl

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import ingest_synthetic
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig
from prometheus.engines.runner import history_view, run_sessions
from prometheus.engines.universe import MEMBER_REASONS, UniverseConfig, UniverseEngine, turnover_by_session


def _run(cfg: UniverseConfig, store: HistoricalStore, all_sessions: list, delay: timedelta) -> dict:
    cal = get_calendar()
    engine = UniverseEngine(cfg, cal)
    sessions = all_sessions[engine.lookback_sessions :]
    t0 = time.perf_counter()
    view = history_view(store, cal, Market.US_EQ, sessions, [engine], delay)
    out, _ = run_sessions(engine, view, cal, Market.US_EQ, sessions, "bench", bar_delay=delay)
    seconds = time.perf_counter() - t0
    per = turnover_by_session(out.frame)
    exits = out.frame.filter(~pl.col("reason").is_in([str(r) for r in MEMBER_REASONS])).group_by("reason").len()
    return {"enter_rank": cfg.enter_rank, "leave_rank": cfg.leave_rank, "sessions": len(sessions),
            "members_min": per["members"].min(), "members_max": per["members"].max(),
            "members_mean": round(per["members"].mean(), 1), "turnover_mean": round(per["turnover"].mean(), 5),
            "entries": per["entered"].sum(), "exits": per["exited"].sum(),
            "exits_by_reason": dict(exits.sort("reason").iter_rows()), "seconds": round(seconds, 2),
            "ms_per_session": round(1000 * seconds / len(sessions), 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()
    delay, market = timedelta(minutes=5), SyntheticConfig(n_names=args.names, years=args.years)
    half = args.names // 2
    bands = [(450, 550), (half - half // 10, half + half // 10), (half, half)]
    with tempfile.TemporaryDirectory() as tmp:
        store = HistoricalStore(Path(tmp) / "lake")
        ingest_synthetic(store, Path(tmp), market, bar_delay=delay)
        all_sessions = get_calendar().sessions(Market.US_EQ, market.start, market.end)
        results = [_run(UniverseConfig(enter_rank=e, leave_rank=leave), store, all_sessions, delay)
                   for e, leave in bands]  # fmt: skip
    report = {"benchmark": "universe", "names": args.names, "years": args.years, "cpu_count": os.cpu_count(),
              "results": results}  # fmt: skip
    print(json.dumps(report, indent=2))
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "universe.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
