"""Transactions: several tables published at one commit, nothing on an exception, and a commit interrupted by a
SIGKILL finished by the next reader or writer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.core.errors import StoreError
from prometheus.data.schema import PRICES_ADJUSTED
from prometheus.data.store import HistoricalStore
from prometheus.data.store._journal import pending
from prometheus.data.store._layout import TMP_PREFIX

# Commits two tables (prices_daily 2024 and 2025, prices_adjusted 2024) and is stopped (printing READY) after the
# first staged file is renamed: the journal exists, one partition shows the new rows, the others the old ones.
CHILD = r"""
import os, sys, time
from datetime import date
from pathlib import Path
import polars as pl
from prometheus.data.store import HistoricalStore
from prometheus.data.store._layout import TMP_PREFIX
sys.path.insert(0, sys.argv[2])
from conftest import make_prices

replace, renamed = os.replace, []
def rename(src, dst):
    if Path(src).name.startswith(TMP_PREFIX):
        renamed.append(1)
        if len(renamed) == 2:
            print("READY", flush=True)
            time.sleep(600)
    replace(src, dst)
os.replace = rename

store = HistoricalStore(sys.argv[1])
new = pl.concat([make_prices(seed=2), make_prices(start=date(2025, 1, 2), seed=2)])
with store.transaction(["prices_daily", "prices_adjusted"]) as tx:
    tx.write_frame("prices_daily", new)
    tx.write_frame("prices_adjusted", make_prices(seed=2).with_columns(total_return=pl.lit(0.5)))
"""


def _adjusted(frame: pl.DataFrame, value: float) -> pl.DataFrame:
    return frame.with_columns(total_return=pl.lit(value)).select(PRICES_ADJUSTED.names)


def _write_then_fail(store: HistoricalStore, frame: pl.DataFrame) -> None:
    with store.transaction(["prices_daily"]) as tx:
        tx.write_frame("prices_daily", frame)
        raise RuntimeError("boom")


def _temp_files(store: HistoricalStore) -> list[Path]:
    return list(store.root.rglob(f"{TMP_PREFIX}*"))


def test_transaction_when_block_ends_publishes_every_table_at_once(store, prices) -> None:
    with store.transaction(["prices_daily", "prices_adjusted"]) as tx:
        tx.write_frame("prices_daily", prices())
        tx.merge("prices_adjusted", _adjusted(prices(), 0.1))
        assert store.read("prices_daily").is_empty()  # staged: nobody sees it yet
        assert tx.staged == 2

    assert_frame_equal(store.read("prices_daily"), prices())
    assert_frame_equal(store.read("prices_adjusted"), _adjusted(prices(), 0.1))
    assert not pending(store.root)
    assert not _temp_files(store)


def test_transaction_when_block_raises_publishes_nothing_and_leaves_no_file(store, prices) -> None:
    store.write_frame("prices_daily", prices(seed=1))

    with pytest.raises(RuntimeError, match="boom"):
        _write_then_fail(store, prices(seed=2))

    assert_frame_equal(store.read("prices_daily"), prices(seed=1))
    assert not _temp_files(store)


def test_transaction_when_table_not_declared_raises_store_error(store, prices) -> None:
    with pytest.raises(StoreError, match="not declared"), store.transaction(["prices_daily"]) as tx:
        tx.write_frame("prices_adjusted", _adjusted(prices(), 0.1))


def test_merge_when_partition_staged_earlier_in_transaction_merges_into_staged_rows(store, prices) -> None:
    first, second = prices(symbols=1), prices(symbols=2).filter(pl.col("symbol") == "S001")

    with store.transaction(["prices_daily"]) as tx:
        tx.merge("prices_daily", first)
        tx.merge("prices_daily", second)

    assert store.read("prices_daily").height == first.height + second.height


def test_store_write_when_inside_transaction_is_visible_at_once(store, prices) -> None:
    with store.transaction(["prices_daily", "prices_adjusted"]) as tx:
        store.write_frame("prices_daily", prices())  # the same thread holds the lock: re-entered, not blocked
        assert store.read("prices_daily").height == prices().height
        tx.write_frame("prices_adjusted", _adjusted(prices(), 0.1))


def test_commit_when_writer_killed_mid_rename_is_finished_by_next_reader(store, prices) -> None:
    old = pl.concat([prices(seed=1), prices(start=prices().item(0, "date").replace(year=2025), seed=1)])
    store.write_frame("prices_daily", old)
    store.write_frame("prices_adjusted", _adjusted(prices(seed=1), 0.1))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store.root), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "READY", proc.stderr.read() if proc.stderr else line
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()

    assert len(pending(store.root)) == 1  # committed, not finished: the journal is there
    raw = pl.read_parquet(store.root / "prices_adjusted" / "**" / "*.parquet", hive_partitioning=False)
    assert raw["total_return"].unique().to_list() == [0.1]  # this table was not renamed yet

    adjusted = store.read("prices_adjusted")  # a reader finishes the commit it finds

    assert adjusted["total_return"].unique().to_list() == [0.5]
    assert store.read("prices_daily")["close"].to_list() != old["close"].to_list()
    assert not pending(store.root)
    assert not _temp_files(store)
    assert store.recover() == []
