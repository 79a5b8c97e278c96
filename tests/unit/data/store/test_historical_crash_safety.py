"""A writer killed (SIGKILL) in the middle of replacing a partition leaves the previous data fully readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from prometheus.data.store._layout import TMP_PREFIX

# The child writes a 20,000-row partition in 1,000-row row groups and stops at a chosen point, printing
# READY, so the parent kills it there: after the first row group ("data": the temporary file is partial, no
# Parquet footer) or just before the rename ("rename": the temporary file is complete but unpublished).
CHILD = r"""
import os, sys, time
from datetime import date
import pyarrow.parquet as pq
from prometheus.data.store import HistoricalStore, _layout
sys.path.insert(0, sys.argv[3])
from conftest import make_prices

root, stop_at = sys.argv[1], sys.argv[2]
_layout.ROW_GROUP_ROWS = 1_000

def hang():
    print("READY", flush=True)
    time.sleep(120)

if stop_at == "data":
    original = pq.ParquetWriter.write_batch
    calls = []
    def write_batch(self, batch, *args, **kwargs):
        original(self, batch, *args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            hang()
    pq.ParquetWriter.write_batch = write_batch
else:
    os.replace = lambda *a, **k: hang()

frame = make_prices(start=date(2024, 1, 2), days=200, symbols=100, seed=11)
HistoricalStore(root).write("prices_daily", frame, market="US_EQ", period=2024)
print("FINISHED", flush=True)
"""


def _kill_writer_at(root: Path, stop_at: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), stop_at, str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip() if proc.stdout else ""
        assert line == "READY", (
            f"child did not reach the kill point: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        )
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


@pytest.mark.parametrize("stop_at", ["data", "rename"])
def test_write_when_writer_killed_mid_write_previous_partition_stays_readable(store, prices, stop_at) -> None:
    old = prices(days=20, symbols=5)
    target = store.write("prices_daily", old, market="US_EQ", period=2024)
    old_bytes = target.read_bytes()

    _kill_writer_at(store.root, stop_at)

    leftovers = list(target.parent.glob(f"{TMP_PREFIX}*"))
    assert len(leftovers) == 1, "the killed writer should have left its temporary file behind"
    assert leftovers[0].stat().st_size > 0
    assert target.read_bytes() == old_bytes
    assert_frame_equal(store.read("prices_daily"), old)
    assert store.query("SELECT count(*) AS n FROM prices_daily")["n"].to_list() == [old.height]
    assert store.scan("prices_daily").collect().height == old.height
    # A reader globbing the lake the usual way does not see the temporary file either.
    glob = str(store.root / "prices_daily" / "**" / "*.parquet")
    assert pl.scan_parquet(glob, hive_partitioning=True).collect().height == old.height


def test_write_when_partial_temporary_file_left_next_write_of_the_table_sweeps_it(store, prices) -> None:
    store.write("prices_daily", prices(), market="US_EQ", period=2024)
    _kill_writer_at(store.root, "data")
    leftover = next(store.root.rglob(f"{TMP_PREFIX}*"))
    with pytest.raises(pa.ArrowInvalid):
        pq.read_table(leftover)

    new = prices(seed=5)
    store.write("prices_daily", new, market="US_EQ", period=2024)

    # Only the holder of a table's lock writes its temporary files: taking the lock, the next writer deletes them.
    assert not leftover.exists()
    assert not list(store.root.rglob(f"{TMP_PREFIX}*"))
    assert_frame_equal(store.read("prices_daily"), new)


def test_sweep_when_leftover_older_than_limit_removes_it_and_keeps_younger_ones(store, prices) -> None:
    store.write("prices_daily", prices(), market="US_EQ", period=2024)
    _kill_writer_at(store.root, "data")
    leftover = next(store.root.rglob(f"{TMP_PREFIX}*"))

    kept_young = store.sweep_temp_files(older_than_s=3600)
    old_time = time.time() - 7200
    os.utime(leftover, (old_time, old_time))
    removed = store.sweep_temp_files(older_than_s=3600)

    assert kept_young == []
    assert removed == [leftover]
    assert not list(store.root.rglob(f"{TMP_PREFIX}*"))
