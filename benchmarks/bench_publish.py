"""Benchmark: publishing a 500-name x 1-year vendor delivery (first, again, and a correction of a few closes) and
the cost of the writer locks (uncontended, and the hand-over from a releasing writer to a waiting one).

Publication alone is timed (parse and QC run before, untimed). Prints the figures and writes them as JSON
(``--out``, default $PROMETHEUS_DATA_ROOT/benchmarks/).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import VendorSource, publish
from prometheus.data.ingest.batch import Batch
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.store._lock import TableLocks
from prometheus.data.synthetic import SyntheticConfig, generate_market, write_vendor_files

DELAY = timedelta(minutes=5)


def _load(directory: Path, at: datetime) -> Batch:
    return VendorSource(directory, Market.US_EQ, get_calendar(), DELAY, None, at).load()


def _timed(store: HistoricalStore, batch: Batch) -> float:
    t0 = time.perf_counter()
    publish(store, batch)
    return time.perf_counter() - t0


def _corrected(directory: Path, target: Path, n: int) -> Path:
    """A copy of the delivery with ``n`` closes moved by 0.1 % (inside each bar's range)."""
    target.mkdir(parents=True)
    for path in directory.iterdir():
        if path.is_file():
            (target / path.name).write_bytes(path.read_bytes())
    prices = pl.read_csv(target / "prices.csv", infer_schema=False)
    pick = pl.int_range(pl.len()) % (prices.height // n) == 7
    close = pl.col("close").cast(pl.Float64)
    moved = pl.max_horizontal(
        pl.min_horizontal(close * 1.001, pl.col("high").cast(pl.Float64)), pl.col("low").cast(pl.Float64)
    )
    prices.with_columns(
        pl.when(pick).then(moved.round(6).cast(pl.String)).otherwise(pl.col("close")).alias("close")
    ).write_csv(target / "prices.csv")
    return target


def bench_publish(root: Path, names: int, years: int) -> dict[str, float]:
    """Publication figures of one delivery into an empty lake."""
    directory = root / "vendor"
    write_vendor_files(
        generate_market(SyntheticConfig(n_names=names, years=years, seed=7, start=date(2023, 1, 3))), directory
    )
    store = HistoricalStore(root / "lake")
    first = _load(directory, datetime(2024, 6, 1, tzinfo=UTC))
    out = {"price_rows": float(first.tables[Table.PRICES_DAILY].height), "publish_first_s": _timed(store, first)}
    out["publish_again_s"] = _timed(store, _load(directory, datetime(2024, 6, 2, tzinfo=UTC)))
    fixed = _load(_corrected(directory, root / "fixed", 20), datetime(2024, 6, 3, tzinfo=UTC))
    out["publish_correction_s"] = _timed(store, fixed)
    out["revisions_written"] = float(store.read(Table.PRICES_DAILY).height - first.tables[Table.PRICES_DAILY].height)
    return out


def bench_locks(root: Path, rounds: int = 2000, handovers: int = 50) -> dict[str, float]:
    """Uncontended acquire+release, and the delay between a holder's release and a waiter's acquisition."""
    locks = TableLocks(root / "locks-lake")
    t0 = time.perf_counter()
    for _ in range(rounds):
        with locks.hold(["prices_daily"]):
            pass
    uncontended = (time.perf_counter() - t0) / rounds
    delays = [_handover(locks) for _ in range(handovers)]
    return {"lock_uncontended_us": uncontended * 1e6, "lock_handover_ms_median": statistics.median(delays) * 1e3,
            "lock_handover_ms_max": max(delays) * 1e3}  # fmt: skip


def _handover(locks: TableLocks) -> float:
    """Seconds from a holder thread's release to this thread's acquisition (it was waiting meanwhile)."""
    held, released = threading.Event(), [0.0]

    def holder() -> None:
        with locks.hold(["prices_daily"]):
            held.set()
            time.sleep(0.05)
            released[0] = time.perf_counter()

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait()
    with locks.hold(["prices_daily"]):
        delay = time.perf_counter() - released[0]
    thread.join()
    return delay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=1)
    default_out = Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "publish.json"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = {**bench_publish(Path(tmp), args.names, args.years), **bench_locks(Path(tmp))}
    for name, value in figures.items():
        print(f"{name:<26} {value:>12,.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
