"""Scenario paths in the lake: the cumulative P&L per step, the long frame, the layout and the atomic write."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.engines.scenarios.lake import (
    PATH_SCHEMA,
    PathKey,
    ScenarioPathStore,
    cumulative_pnl,
    path_frame,
)
from prometheus.engines.scenarios.risk import portfolio_pnl

KEY = PathKey("US_EQ", "0123456789abcdef0123", date(2024, 3, 8), "block_bootstrap")


def _paths(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.02, (50, 7, 4)).astype(np.float32)


def test_cumulative_pnl_when_at_the_last_step_equals_the_horizon_pnl() -> None:
    paths, w = _paths(), np.array([0.4, -0.1, 0.3, 0.2])
    cum = cumulative_pnl(paths, w)
    assert cum.shape == (50, 7)
    np.testing.assert_allclose(cum[:, -1], portfolio_pnl(paths, w), rtol=0, atol=1e-14)
    np.testing.assert_allclose(cum[:, 0], paths[:, 0, :].astype(np.float64) @ w, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="do not match"):
        cumulative_pnl(paths, w[:3])


def test_path_frame_when_built_has_one_row_per_path_and_step_and_the_exact_horizon_pnl() -> None:
    paths, w, equal = _paths(), np.array([0.4, -0.1, 0.3, 0.2]), np.full(4, 0.25)
    pnl, market = portfolio_pnl(paths, w), portfolio_pnl(paths, equal)
    frame = path_frame(paths, equal, w, pnl=pnl, market_pnl=market)
    assert frame.schema == pl.Schema(PATH_SCHEMA)
    assert frame.height == 50 * 7
    last = frame.filter(pl.col("step") == 7).sort("path")
    assert last["path"].to_list() == list(range(50))
    np.testing.assert_array_equal(last["portfolio_pnl"].to_numpy(), pnl)  # bit for bit
    np.testing.assert_array_equal(last["market_pnl"].to_numpy(), market)
    without = path_frame(paths, equal)
    assert without["portfolio_pnl"].null_count() == without.height


def test_key_when_made_relative_follows_the_documented_layout() -> None:
    assert KEY.relative() == ("scenario_paths/market=US_EQ/version=0123456789abcdef/session=2024-03-08/"
                              "block_bootstrap.parquet")  # fmt: skip


def test_write_when_repeated_replaces_the_file_and_reads_back(tmp_path: Path) -> None:
    store = ScenarioPathStore(tmp_path / "lake")
    equal = np.full(4, 0.25)
    first, second = path_frame(_paths(1), equal), path_frame(_paths(2), equal)
    rel = store.write(KEY, first)
    assert rel == KEY.relative()
    assert store.resolve(rel).is_file()
    assert_frame_equal(store.read(rel), first)
    assert store.write(KEY, second) == rel
    assert_frame_equal(store.read(rel), second)
    assert [p.name for p in store.resolve(rel).parent.iterdir()] == ["block_bootstrap.parquet"]


def test_write_when_it_fails_midway_leaves_the_previous_file_and_no_temporary(tmp_path: Path, monkeypatch) -> None:
    store = ScenarioPathStore(tmp_path / "lake")
    equal = np.full(4, 0.25)
    good = path_frame(_paths(1), equal)
    rel = store.write(KEY, good)

    def broken(self: pl.DataFrame, file: Path, **kwargs: object) -> None:
        Path(file).write_bytes(b"PAR1 half a file")  # a partial temporary file, then the failure
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", broken)
    with pytest.raises(OSError, match="disk full"):
        store.write(KEY, path_frame(_paths(2), equal))
    monkeypatch.undo()
    assert_frame_equal(store.read(rel), good)
    assert [p.name for p in store.resolve(rel).parent.iterdir()] == ["block_bootstrap.parquet"]
