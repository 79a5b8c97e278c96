"""A publication killed (SIGKILL) at each step: before its commit the previous state stays whole and the log says
incomplete with what to re-run; during its commit the next reader finishes it; a re-run always repairs."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.data.ingest import incomplete_runs, ingest_vendor
from prometheus.data.schema import IngestionStatus, Table
from prometheus.data.store import HistoricalStore
from prometheus.data.store._journal import pending
from prometheus.data.store._layout import TMP_PREFIX
from tests.support.ingest_kit import (
    BAR_DELAY,
    CAL,
    MARKET,
    SESSIONS,
    actions_frame,
    clean_prices,
    set_cell,
    utc,
    write_vendor,
)
from tests.support.writer_kit import snapshot, spawn

T1, T2 = utc(2024, 4, 1, 12), utc(2024, 5, 2, 12)
D = SESSIONS


def _deliveries(tmp_path: Path) -> tuple[Path, Path]:
    """A first delivery, then a second one that corrects a close and adds a dividend."""
    prices = clean_prices()
    first = write_vendor(tmp_path / "first" / "vendor", prices)
    fixed = set_cell(prices, D[20], "AAA", close=prices.item(60, "close") + 0.05)
    second = write_vendor(tmp_path / "second" / "vendor", fixed, actions_frame([(D[30], "BBB", "dividend", 0.3, None)]))
    return first, second


def _ingest(store: HistoricalStore, directory: Path, at) -> None:
    ingest_vendor(store, directory, MARKET, bar_delay=BAR_DELAY, calendar=CAL, ingested_at=at)


def _log_as_written(store: HistoricalStore) -> pl.DataFrame:
    """The run rows of ingestion_log as the files hold them (without letting the store finish a commit)."""
    log = pl.read_parquet(store.root / "ingestion_log" / "**" / "*.parquet", hive_partitioning=False)
    return log.filter(pl.col("table_name") == "")


@pytest.fixture
def stores(tmp_path: Path) -> tuple[HistoricalStore, HistoricalStore, Path]:
    """The store under test after the first delivery, a reference store after both, and the second delivery."""
    first, second = _deliveries(tmp_path)
    store, reference = HistoricalStore(tmp_path / "lake"), HistoricalStore(tmp_path / "reference")
    for target in (store, reference):
        _ingest(target, first, T1)
    _ingest(reference, second, T2)
    return store, reference, second


@pytest.mark.parametrize("stop", ["derive", "stage"])
def test_publish_when_killed_before_commit_keeps_previous_state_and_logs_incomplete(stores, stop) -> None:
    store, reference, second = stores
    before = snapshot(store)

    child = spawn(store.root, second, T2, stop=f"{stop}:hang")
    child.wait_ready()
    child.kill()

    for table, frame in snapshot(store).items():
        assert_frame_equal(frame, before[table])
    todo = incomplete_runs(store)
    assert todo["source"].to_list() == [str(second)]
    assert f"re-run the ingestion of {second}" in todo["message"].item()

    _ingest(store, second, T2)

    for table, frame in snapshot(store).items():
        assert_frame_equal(frame, snapshot(reference)[table])
    assert incomplete_runs(store).is_empty()
    assert not list(store.root.rglob(f"{TMP_PREFIX}*"))  # the killed writer's staged files were swept


@pytest.mark.parametrize("stop", ["commit", "finish"])
def test_publish_when_killed_during_commit_is_finished_by_next_reader(stores, stop) -> None:
    store, reference, second = stores

    child = spawn(store.root, second, T2, stop=f"{stop}:hang")
    child.wait_ready()
    child.kill()

    assert len(pending(store.root)) == 1
    if stop == "commit":  # the log is renamed last: until the commit is finished it says incomplete
        assert _log_as_written(store)["status"].to_list()[-1] == IngestionStatus.INCOMPLETE.value

    for table, frame in snapshot(store).items():  # reading finishes the commit
        assert_frame_equal(frame, snapshot(reference)[table])
    assert not pending(store.root)
    assert incomplete_runs(store).is_empty()
    assert set(store.read(Table.INGESTION_LOG)["status"]) == {IngestionStatus.SUCCEEDED.value}
