"""Benchmark: ingest 500 names x 20 years of synthetic vendor CSV; read a 252-session window of adjusted closes for
500 names through the TimeMachine.

The vendor files are generated in a child process first, so the peak RSS reported is the ingestion's own. Prints
the figures and writes them as JSON (``--out``, default $PROMETHEUS_DATA_ROOT/benchmarks/).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import ingest_vendor
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig, generate_market, write_vendor_files
from prometheus.data.timemachine import HistorySnapshot, TimeMachine


def _generate(directory: str, names: int, years: int, seed: int) -> None:
    config = SyntheticConfig(n_names=names, years=years, seed=seed, start=date(2000, 1, 3))
    write_vendor_files(generate_market(config), directory)


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_ingest(directory: Path, lake: Path) -> dict[str, float]:
    """Ingest the vendor directory into an empty lake."""
    t0 = time.perf_counter()
    report = ingest_vendor(HistoricalStore(lake), directory, Market.US_EQ, bar_delay=timedelta(minutes=5))
    seconds = time.perf_counter() - t0
    rows = report.loaded[Table.PRICES_DAILY.value] + report.rows_quarantined
    return {"ingest_seconds": seconds, "price_rows": rows, "price_rows_per_s": rows / seconds,
            "adjusted_rows": report.loaded[Table.PRICES_ADJUSTED.value], "peak_rss_mb": _peak_rss_mb()}  # fmt: skip


def bench_read(lake: Path, repeats: int = 7) -> dict[str, float]:
    """Median ms to read 252 sessions of adjusted closes for 500 names: from the lake, and from a loaded snapshot."""
    store = HistoricalStore(lake)
    cal = get_calendar()
    names = store.read(Table.INSTRUMENTS, columns=["symbol"])["symbol"].unique().sort().head(500).to_list()
    last = store.read(Table.PRICES_DAILY, columns=["date"])["date"].max()
    sessions = cal.sessions("US_EQ", last - timedelta(days=400), last)[-252:]
    as_of = cal.close_at("US_EQ", sessions[-1]) + timedelta(minutes=5)
    cols = ["date", "symbol", "close"]

    def lake_read() -> pl.DataFrame:
        view = TimeMachine(store, as_of)
        return view.table(Table.PRICES_ADJUSTED, market="US_EQ", start=sessions[0], end=sessions[-1], symbols=names,
                          columns=cols)  # fmt: skip

    snapshot = HistorySnapshot.load(store, [Table.PRICES_ADJUSTED], known_until=as_of, market="US_EQ")

    def snapshot_read() -> pl.DataFrame:
        view = TimeMachine(snapshot, as_of)
        return view.table(Table.PRICES_ADJUSTED, start=sessions[0], end=sessions[-1], symbols=names, columns=cols)

    out: dict[str, float] = {}
    for label, fn in (("lake", lake_read), ("snapshot", snapshot_read)):
        times, rows = [], 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            rows = fn().height
            times.append((time.perf_counter() - t0) * 1000.0)
        out[f"read_252x500_{label}_ms"] = statistics.median(times)
        out[f"read_252x500_{label}_rows"] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=None, help="JSON output file or folder.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        directory, lake = Path(tmp) / "vendor", Path(tmp) / "lake"
        t0 = time.perf_counter()
        child = mp.get_context("spawn").Process(
            target=_generate, args=(str(directory), args.names, args.years, args.seed)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"generation failed with exit code {child.exitcode}")
        figures: dict[str, object] = {"names": args.names, "years": args.years, "seed": args.seed,
                                      "generate_seconds": time.perf_counter() - t0,
                                      "prices_csv_mb": (directory / "prices.csv").stat().st_size / 2**20}  # fmt: skip
        figures |= bench_ingest(directory, lake)
        figures |= bench_read(lake)
    figures["cpu_count"] = os.cpu_count()
    figures["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    for key, value in figures.items():
        print(f"{key:>28}: {value:,.2f}" if isinstance(value, float) else f"{key:>28}: {value}")
    root = Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks"
    out = args.out or root
    path = out / "bench_ingest.json" if out.suffix != ".json" else out
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written {path}")


if __name__ == "__main__":
    main()
