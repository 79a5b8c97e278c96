"""Regime engine times: a full run and a one-session run (the daily PAPER/LIVE run), each with its peak RSS.

The market is synthetic (``--names`` x ``--years``, default 500 x 10) or, with ``--sp500``, the S&P 500 index from
``arch`` as benchmark (2009-2018 labelled, the figure quoted before the batched reads). The full run labels every
session from ``--from-year`` on (a synthetic market needs two years before its first refit) and fits every
model; the one-session run decides the last session with the models of the full run loaded from disk, as the
model asset hands them over. Each run is a fresh process, so its peak RSS and time are its own (snapshot read
included; imports and the exchange calendar's construction, process setup, not: the latter is reported).

Usage: python benchmarks/bench_regime.py [--out FILE] [--method jump|hmm] [--names 500] [--years 10]
[--from-year 2] [--sp500] [--cross-section] [--profile DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import pstats
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import ingest_synthetic
from prometheus.data.ingest.api import ingest_reference, publish_market
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig
from prometheus.engines.regime import RegimeConfig, RegimeEngine, RegimeMethod, load_models, save_model
from prometheus.engines.runner import history_view, run_sessions

DELAY = timedelta(minutes=5)
MARKET = Market.US_EQ


@dataclass(frozen=True)
class Job:
    """One measured run: the lake, the sessions, the config, where models go (or come from), a profile file."""

    lake: Path
    sessions: tuple[date, ...]
    config: RegimeConfig
    models: Path
    load_models: bool
    profile: Path | None


def measure(job: Job) -> dict[str, object]:
    """Run the engine over ``job.sessions`` in this (fresh) process; seconds, peak RSS, rows, refits."""
    cal, store = get_calendar(), HistoricalStore(job.lake)
    # Building the exchange calendar is process setup (a daily run's process has it from its first asset).
    t0 = time.perf_counter()
    cal.sessions(MARKET, date(2000, 1, 1), date(2000, 1, 31))
    calendar_setup = time.perf_counter() - t0
    profiler = cProfile.Profile() if job.profile else None
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    models = load_models(job.models, MARKET, job.config) if job.load_models else None
    engine = RegimeEngine(job.config, cal, DELAY, models=models)
    view = history_view(store, cal, MARKET, job.sessions, [engine], DELAY)
    out, _ = run_sessions(engine, view, cal, MARKET, job.sessions, "bench", bar_delay=DELAY)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - t0
    if profiler and job.profile:
        profiler.dump_stats(job.profile)
    if not job.load_models:
        for model in engine.models.values():
            save_model(model, job.models, MARKET)
    assert out.frame.height == len(job.sessions)
    return {"sessions": len(job.sessions), "refits": len(engine.models), "seconds": round(seconds, 2),
            "ms_per_session": round(1000 * seconds / len(job.sessions), 2), "peak_rss_mb": _peak_rss_mb(),
            "calendar_setup_seconds": round(calendar_setup, 2)}  # fmt: skip


def _peak_rss_mb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not carried over from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # not Linux: the upper bound


def _in_fresh_process(job: Job) -> dict[str, object]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(measure, job).result()


def _print_profile(path: Path, title: str) -> None:
    print(f"--- {title}: top 15 by cumulative time ({path})")  # noqa: T201
    pstats.Stats(str(path)).sort_stats("cumulative").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--method", choices=[m.value for m in RegimeMethod], default="jump")
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--from-year", type=int, default=2, help="Years of the synthetic market before the run.")
    parser.add_argument("--sp500", action="store_true", help="The S&P 500 benchmark series instead (2009-2018).")
    parser.add_argument("--cross-section", action="store_true")
    parser.add_argument("--profile", type=Path, default=None, help="Folder for cProfile files of both runs.")
    args = parser.parse_args()
    config = RegimeConfig(method=RegimeMethod(args.method), cross_section=args.cross_section)
    cal = get_calendar()
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        store = HistoricalStore(lake)
        if args.sp500:
            ingest_reference(store, bar_delay=DELAY)
            publish_market(store, MARKET, benchmark="SP500")
            sessions = cal.sessions(MARKET, date(2009, 1, 1), date(2018, 12, 31))
            market = {"source": "sp500"}
        else:
            synthetic = SyntheticConfig(n_names=args.names, years=args.years)
            ingest_synthetic(store, Path(tmp), synthetic, bar_delay=DELAY)
            first = date(synthetic.start.year + args.from_year, 1, 1)
            sessions = cal.sessions(MARKET, first, synthetic.end)
            market = {"source": "synthetic", "names": args.names, "years": args.years, "run_from": str(first)}
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        models = Path(tmp) / "models"
        runs = {}
        for name, run, loaded in (("full", sessions, False), ("one_session", sessions[-1:], True)):
            profile = args.profile / f"regime_{name}.prof" if args.profile else None
            runs[name] = _in_fresh_process(Job(lake, tuple(run), config, models, loaded, profile))
            if profile:
                _print_profile(profile, name)
    result = {"benchmark": "regime", "method": args.method, "cross_section": args.cross_section, **market,
              "cpu_count": os.cpu_count(), "config_version": config.config_version, **runs}  # fmt: skip
    print(json.dumps(result, indent=2))  # noqa: T201
    root = Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data"))
    out_path = args.out or root / "benchmarks" / "regime.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
