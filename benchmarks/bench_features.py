"""Benchmark: the 158 Alpha158 features for 500 names x 10 years of the synthetic market.

Two figures: the pure vectorised computation over the whole (session x name) panel (``compute_alpha158``), and the
point-in-time reader over every session (``point_in_time_alpha158``: block reads through a TimeMachine view, each
session's row from its window as known at its decision time). The bars are the generator's daily bars (its raw
prices: timing does not depend on adjustment), each known 5 minutes after its session's 21:00 UTC close; a third
run adds two seeded 2:1 split re-adjustments per name (every earlier bar revised, known at the ex-date). Each
measurement runs in its own child process, so each peak RSS is its own. Prints seconds and peak RSS and writes them
as JSON (``--out``, default $PROMETHEUS_DATA_ROOT/benchmarks/features.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from prometheus.core.types import Market
from prometheus.data.schema import PRICES_ADJUSTED, Table
from prometheus.data.synthetic import SyntheticConfig, generate_market
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.features import FEATURE_NAMES, compute_alpha158, point_in_time_alpha158


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _bars(names: int, years: int, seed: int) -> tuple[pl.DataFrame, list, list[datetime]]:
    m = generate_market(SyntheticConfig(n_names=names, years=years, seed=seed))
    b = m.panel.bars
    t, i = np.nonzero(np.isfinite(b.close))
    days = np.array(m.sessions, dtype="datetime64[D]")
    times = [datetime.combine(d, datetime.min.time(), tzinfo=UTC) + timedelta(hours=21, minutes=5) for d in m.sessions]
    frame = pl.DataFrame(
        {
            "market": str(Market.US_EQ),
            "date": days[t],
            "symbol": np.asarray(m.panel.universe.symbols).astype(str)[i],
            "open": b.open[t, i],
            "high": b.high[t, i],
            "low": b.low[t, i],
            "close": b.close[t, i],
            "volume": b.volume[t, i].astype(float),
            "total_return": m.panel.returns.total[t, i],
            "known_at": np.array([x.replace(tzinfo=None) for x in times], dtype="datetime64[us]")[t],
        }
    ).with_columns(pl.col("known_at").dt.replace_time_zone("UTC"))
    return frame.select(PRICES_ADJUSTED.names).cast(PRICES_ADJUSTED.dtypes), list(m.sessions), times


def _with_splits(prices: pl.DataFrame, sessions: list, times: list[datetime]) -> pl.DataFrame:
    """Two 2:1 re-adjustments per name at seeded sessions: every earlier bar revised, known at the ex-date's close."""
    rng = np.random.default_rng(7)
    symbols = prices["symbol"].unique().sort().to_list()
    ex = pl.DataFrame(
        {
            "symbol": np.repeat(symbols, 2),
            "ex": np.array(sessions, dtype="datetime64[D]")[rng.integers(60, len(sessions), 2 * len(symbols))],
        }
    ).with_columns(pl.col("ex").cast(pl.Date()))
    known = pl.DataFrame({"ex": sessions, "revised_at": times}).with_columns(pl.col("ex").cast(pl.Date()))
    revised = (
        prices.join(ex.join(known, on="ex"), on="symbol")
        .filter(pl.col("date") < pl.col("ex"))
        .with_columns(*(pl.col(c) * 0.5 for c in ("open", "high", "low", "close")), pl.col("volume") * 2.0)
        .with_columns(pl.col("revised_at").cast(pl.Datetime("us", "UTC")).alias("known_at"))
        .select(prices.columns)
    )
    return pl.concat([prices, revised])


def _part(part: str, names: int, years: int) -> dict[str, float]:
    """One measurement in this process (run in a child so that its peak RSS is its own)."""
    t0 = time.perf_counter()
    prices, sessions, times = _bars(names, years, 42)
    out: dict[str, float] = {"generate_market_s": time.perf_counter() - t0, "bars": prices.height}
    out["peak_rss_input_mb"] = _peak_rss_mb()
    t0 = time.perf_counter()
    if part == "pit_revised":
        prices = _with_splits(prices, sessions, times)
        out["bars_with_revisions"] = prices.height
    if part == "whole":
        frame = compute_alpha158(prices.drop("market", "total_return", "known_at"), sessions)
    else:
        view = TimeMachine(HistorySnapshot(times[-1], {Table.PRICES_ADJUSTED: prices}), times[-1])
        frame = point_in_time_alpha158(view, Market.US_EQ, sessions, times, sessions)
    out["seconds"] = time.perf_counter() - t0
    assert frame.height == out["bars"]
    out["output_mb"] = frame.estimated_size("mb")
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    root = Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data"))
    parser.add_argument("--out", type=Path, default=root / "benchmarks" / "features.json")
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--part", choices=["whole", "pit", "pit_revised"], default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(_part(args.part, args.names, args.years)))
        return
    results: dict[str, float | int | str] = {
        "names": args.names,
        "years": args.years,
        "features": len(FEATURE_NAMES),
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count() or 0,
        "load_average_1min_before": os.getloadavg()[0],
    }
    labels = {
        "whole": "compute_alpha158_whole_panel",
        "pit": "point_in_time_alpha158_all_sessions",
        "pit_revised": "point_in_time_alpha158_with_2_splits_per_name",
    }
    for part, label in labels.items():
        cmd = [sys.executable, __file__, "--part", part, "--names", str(args.names), "--years", str(args.years)]
        child = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        results["bars"] = int(child["bars"])
        results["generate_market_s"] = child["generate_market_s"]
        results[f"{label}_s"] = child["seconds"]
        results[f"{label}_peak_rss_mb"] = child["peak_rss_mb"]
        results[f"{label}_peak_rss_input_only_mb"] = child["peak_rss_input_mb"]
        results["output_mb"] = child["output_mb"]
        if "bars_with_revisions" in child:
            results["bars_with_revisions"] = int(child["bars_with_revisions"])
    for key, value in results.items():
        print(f"{key:<60} {value:.3f}" if isinstance(value, float) else f"{key:<60} {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
