"""Two ingestions at once into one data root: the second waits for the first and nothing is lost, or, past its lock
timeout, it fails with a message naming the writer it waited for."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl

from prometheus.data.ingest import incomplete_runs
from prometheus.data.schema import IngestionStatus, Table
from prometheus.data.store import HistoricalStore
from tests.support.ingest_kit import SESSIONS, utc
from tests.support.writer_kit import delivery, spawn

A_NAMES, B_NAMES = ("AAA", "BBB", "CCC"), ("DDD", "EEE")
T = utc(2024, 4, 1, 12)


def _assert_both_published(store: HistoricalStore) -> None:
    bars = store.read(Table.PRICES_DAILY)
    assert sorted(bars["symbol"].unique()) == sorted(A_NAMES + B_NAMES)
    assert bars.height == len(SESSIONS) * 5
    assert store.read(Table.PRICES_ADJUSTED).group_by("symbol").len()["len"].to_list() == [len(SESSIONS)] * 5
    assert store.read(Table.INSTRUMENTS).height == 5
    runs = store.read(Table.INGESTION_LOG).filter(pl.col("table_name") == "")
    assert runs["status"].to_list() == [IngestionStatus.SUCCEEDED.value] * 2
    assert incomplete_runs(store).is_empty()


def test_ingest_when_two_processes_start_together_loses_nothing(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    go = tmp_path / "go"
    a = spawn(store.root, delivery(tmp_path / "a" / "vendor", A_NAMES), T, go=go)
    b = spawn(store.root, delivery(tmp_path / "b" / "vendor", B_NAMES, seed=5), T, go=go)
    a.wait_ready()
    b.wait_ready()

    go.touch()  # both parse and publish at once from here

    for child in (a, b):
        code, out, err = child.finish()
        assert code == 0, err
        assert out.startswith("DONE")
    _assert_both_published(store)


def test_ingest_when_table_is_being_written_waits_for_the_writer(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    release, go = tmp_path / "release", tmp_path / "go"
    a = spawn(store.root, delivery(tmp_path / "a" / "vendor", A_NAMES), T, stop=f"derive:pause={release}")
    a.wait_ready()  # A holds its tables, in the middle of its publication
    b = spawn(store.root, delivery(tmp_path / "b" / "vendor", B_NAMES, seed=5), T, go=go)
    b.wait_ready()
    go.touch()
    time.sleep(2.0)  # B parses its files, then waits for A's locks

    assert b.proc.poll() is None
    assert store.lock_holder(Table.PRICES_DAILY).pid == a.proc.pid
    assert store.read(Table.PRICES_DAILY).is_empty()

    release.touch()

    for child in (a, b):
        code, _, err = child.finish()
        assert code == 0, err
    _assert_both_published(store)


def test_ingest_when_lock_timeout_passes_fails_naming_holder_and_publishes_nothing(tmp_path: Path) -> None:
    store = HistoricalStore(tmp_path / "lake")
    release = tmp_path / "release"
    a = spawn(store.root, delivery(tmp_path / "a" / "vendor", A_NAMES), T, stop=f"derive:pause={release}")
    a.wait_ready()

    b = spawn(store.root, delivery(tmp_path / "b" / "vendor", B_NAMES, seed=5), T, timeout=0.5)
    code, _, err = b.finish()
    release.touch()
    a_code, _, a_err = a.finish()

    assert code != 0
    assert "StoreLockedError" in err
    assert f"is being written by pid {a.proc.pid}" in err
    assert "since" in err
    assert "allow a longer lock timeout" in err
    assert a_code == 0, a_err
    assert sorted(store.read(Table.PRICES_DAILY)["symbol"].unique()) == list(A_NAMES)
