"""Benchmark: one session's PAPER daily cycle (every engine, Dagster included, in process) and the market-state
sensor's evaluation time.

In a fresh data root (PAPER settings, SQLite runtime store, the data root's own Dagster instance):

1. **setup** (timed, not the figure): the synthetic market of ``--names`` x ``--years`` written as a vendor delivery
   and ingested up to the session before D (2016-12-14), then what the daily cycle needs but does not run: the
   numeric encoder and regime models of 2016, the encoders and engines of D-1, the assessment model of 2016-12;
2. **daily cycle**: the market-state sensor evaluated at POST_CLOSE of D asks for ``us_eq_daily_cycle_job``; that
   run (partition D) goes through ``run_job`` as the daemon's would run it: ingestion of D, trading sessions,
   embeddings, news embeddings (MiniLM), profiles, Regime, Stability, Fragility, Universe, Assessment, Portfolio,
   Scenarios, decision outcomes. Figures: wall time (target <= 60 s at 500 names), the sum of step durations
   (STEP_START to STEP_SUCCESS) and the rest (Dagster's run bookkeeping), each step's seconds, peak RSS. The
   process imports everything during setup, so the cycle is timed warm, as in a running code server.
3. **sensor**: the first tick (no cursor) and ``--ticks`` ticks every 60 simulated seconds from D's close onwards
   (what the daemon does; each tick builds the sensor context and records transitions), and the same walk through
   ``MarketWatch.tick`` alone (the calendar logic without Dagster).

Prints the figures and writes JSON (``--out``, default ``$PROMETHEUS_DATA_ROOT/benchmarks/bench_daily_cycle.json``).
The temporary data root is removed unless ``--keep``.

Usage: python benchmarks/bench_daily_cycle.py [--names 500] [--years 3] [--ticks 1440] [--keep] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

D = date(2016, 12, 14)
#: What the cycle of D needs and does not run (job, partition): the models of D's periods, the engines of D-1.
SETUP = [("us_eq_encoder_model_job", "2016"), ("us_eq_regime_model_job", "2016"), ("us_eq_encoders_job", "2016-12-13"),
         ("us_eq_engines_job", "2016-12-13"), ("us_eq_assessment_model_job", "2016-12-01")]  # fmt: skip
SENSOR = "us_eq_market_state_sensor"


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


class SimulatedClock:
    """Now, as the benchmark sets it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def step_seconds(instance: Any, run_id: str) -> dict[str, float]:
    """STEP_START to STEP_SUCCESS of every step of the run, from its event log."""
    import dagster as dg

    starts: dict[str, float] = {}
    out: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[entry.step_key] = entry.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS and entry.step_key in starts:
            out[entry.step_key] = round(entry.timestamp - starts[entry.step_key], 2)
    return out


def prepare(root: Path, names: int, years: int) -> tuple[Any, Any, Any, SimulatedClock, dict[str, float]]:
    """PAPER settings over ``root``, the market ingested up to D-1 and the setup jobs run; timings per stage."""
    from prometheus.core.settings import load_settings
    from prometheus.core.types import Market
    from prometheus.data.ingest import DateWindow, ingest_vendor, write_synthetic_delivery
    from prometheus.data.store import HistoricalStore
    from prometheus.data.synthetic import SyntheticConfig
    from prometheus_assets.definitions import build_definitions
    from prometheus_assets.launch import local_instance, run_job

    limits = Path(__file__).resolve().parents[1] / "docs" / "risk_limits.example.yaml"
    env = {"PROMETHEUS_MODE": "PAPER", "PROMETHEUS_DATA_ROOT": str(root), "PROMETHEUS_IB_PORT": "4002",
           "PROMETHEUS_RISK_LIMITS_FILE": str(limits)}  # fmt: skip
    for key in [k for k in os.environ if k.startswith("PROMETHEUS_")]:
        del os.environ[key]
    os.environ.update(env)  # the assets read the bar delay from the environment's settings
    settings = load_settings()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    store = HistoricalStore.from_settings(settings)
    config = SyntheticConfig(seed=5, n_names=names, years=years)
    delivery = write_synthetic_delivery(store, settings.data_path, config)
    ingest_vendor(store, delivery, Market.US_EQ, bar_delay=timedelta(seconds=settings.bar_delay_seconds),
                  window=DateWindow(config.start, D - timedelta(days=1)))  # fmt: skip
    timings["setup_market_s"] = round(time.perf_counter() - t0, 2)
    print(
        f"setup: market of {names} names x {years} years ingested up to {D - timedelta(days=1)} in "
        f"{timings['setup_market_s']:.1f} s",
        flush=True,
    )
    clock = SimulatedClock(datetime(2016, 12, 14, 20, 0, tzinfo=UTC))
    defs = build_definitions(settings, clock=clock)
    instance = local_instance(settings)
    for job, partition in SETUP:
        t1 = time.perf_counter()
        run_job(defs, instance, job, partitions=(partition, partition), echo=lambda _: None)
        timings[f"setup_{job}_s"] = round(time.perf_counter() - t1, 2)
        print(f"setup: {job} {partition} in {timings[f'setup_{job}_s']:.1f} s", flush=True)
    return settings, defs, instance, clock, timings


def tick_once(defs: Any, instance: Any, url: str, cursor: str | None) -> Any:
    """One evaluation of the market-state sensor (context built as the daemon builds it)."""
    import dagster as dg

    from prometheus_resources.stores import RuntimeStoreResource

    sensor = defs.resolve_sensor_def(SENSOR)
    with dg.build_sensor_context(cursor=cursor, resources={"runtime": RuntimeStoreResource(url=url)},
                                 instance=instance, repository_def=defs.get_repository_def()) as context:  # fmt: skip
        return sensor.evaluate_tick(context)


def bench_cycle(settings: Any, defs: Any, instance: Any, clock: SimulatedClock) -> dict[str, Any]:
    """The sensor at POST_CLOSE of D, then the daily-cycle run it asks for."""
    from prometheus_assets.launch import run_job

    clock.now = datetime(2016, 12, 14, 21, 5, tzinfo=UTC)
    (request,) = tick_once(defs, instance, settings.effective_runtime_db_url, None).run_requests
    tags = {k: v for k, v in request.tags.items() if not k.startswith("dagster/")}
    key = request.partition_key
    t0 = time.perf_counter()
    report = run_job(defs, instance, request.job_name, partitions=(key, key), tags=tags, echo=lambda _: None)
    wall = time.perf_counter() - t0
    steps = step_seconds(instance, report.run_id)
    total = sum(steps.values())
    return {
        "daily_cycle_job": request.job_name,
        "daily_cycle_run_key": request.run_key,
        "daily_cycle_wall_s": round(wall, 2),
        "daily_cycle_step_sum_s": round(total, 2),
        "daily_cycle_outside_steps_s": round(wall - total, 2),
        "daily_cycle_assets": len(report.materializations),
        "daily_cycle_steps_s": dict(sorted(steps.items(), key=lambda kv: -kv[1])),
        "target_names": _target_names(settings),
    }


def _target_names(settings: Any) -> int:
    from prometheus.core.types import Market
    from prometheus.execution.live import load_session_targets
    from prometheus.runtime import RuntimeStore

    runtime = RuntimeStore(settings.effective_runtime_db_url)
    try:
        return len(load_session_targets(runtime, Market.US_EQ, D)[0])
    finally:
        runtime.close()


def bench_sensor(settings: Any, defs: Any, instance: Any, clock: SimulatedClock, ticks: int) -> dict[str, Any]:
    """First tick, then ``ticks`` ticks 60 simulated seconds apart; the same walk through MarketWatch alone."""
    from prometheus.calendar import get_calendar
    from prometheus.core.types import Market
    from prometheus.orchestration import MarketWatch, WatchCursor

    url = settings.effective_runtime_db_url
    clock.now = datetime(2016, 12, 14, 21, 10, tzinfo=UTC)
    t0 = time.perf_counter()
    cursor = tick_once(defs, instance, url, None).cursor
    first = time.perf_counter() - t0
    times, requests = [], 0
    for i in range(1, ticks + 1):
        clock.now = datetime(2016, 12, 14, 21, 10, tzinfo=UTC) + timedelta(minutes=i)
        t1 = time.perf_counter()
        result = tick_once(defs, instance, url, cursor)
        times.append(time.perf_counter() - t1)
        cursor, requests = result.cursor, requests + len(result.run_requests)
    watch = MarketWatch(get_calendar(), Market.US_EQ)
    watch_cursor = WatchCursor(datetime(2016, 12, 14, 21, 10, tzinfo=UTC))
    t2 = time.perf_counter()
    for _ in range(ticks):
        watch_cursor = watch.tick(watch_cursor.observed_to + timedelta(minutes=1), watch_cursor).cursor
    pure = (time.perf_counter() - t2) / ticks
    times_ms = sorted(t * 1000 for t in times)
    return {
        "sensor_first_tick_ms": round(first * 1000, 1),
        "sensor_ticks": ticks,
        "sensor_simulated_span_h": round(ticks / 60, 1),
        "sensor_tick_mean_ms": round(statistics.mean(times_ms), 1),
        "sensor_tick_p50_ms": round(statistics.median(times_ms), 1),
        "sensor_tick_p95_ms": round(times_ms[int(0.95 * (len(times_ms) - 1))], 1),
        "sensor_tick_max_ms": round(times_ms[-1], 1),
        "sensor_ticks_total_s": round(sum(times), 2),
        "sensor_run_requests": requests,
        "market_watch_tick_mean_ms": round(pure * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    out_root = Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data"))
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=3, help="3 is the least the 2016 regime model trains on.")
    parser.add_argument("--ticks", type=int, default=1440, help="Sensor ticks, 60 simulated seconds apart (a day).")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary data root.")
    parser.add_argument("--out", type=Path, default=out_root / "benchmarks" / "bench_daily_cycle.json")
    args = parser.parse_args()
    out = args.out.resolve()
    root = Path(tempfile.mkdtemp(prefix="bench_daily_cycle_"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    t0 = time.perf_counter()
    try:
        settings, defs, instance, clock, timings = prepare(root, args.names, args.years)
        results: dict[str, Any] = {"names": args.names, "years": args.years, "session": D.isoformat(),
                                   "machine": platform.processor() or platform.machine(),
                                   "cpus": os.cpu_count() or 0, **timings}  # fmt: skip
        results |= bench_cycle(settings, defs, instance, clock)
        results["peak_rss_mb"] = _peak_rss_mb()
        results |= bench_sensor(settings, defs, instance, clock, args.ticks)
        results["total_s"] = round(time.perf_counter() - t0, 1)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    for key, value in results.items():
        if isinstance(value, dict):
            print(key)
            for step, seconds in value.items():
                print(f"  {step:<46} {seconds:8.2f}")
        else:
            print(f"{key:<34} {value}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
