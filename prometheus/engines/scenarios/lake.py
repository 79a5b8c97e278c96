"""Scenario paths in the lake: one Parquet file per generated set and rebalance session, written atomically.

Layout (relative to the lake root, ``<data_root>/lake``; the relative path is what ``scenario_sets.lake_path``
records)::

    scenario_paths/market=<MARKET>/version=<config_version[:16]>/session=<YYYY-MM-DD>/<scenario_set>.parquet

The version is the run's lineage version (config hash folded with the upstream versions), so two runs that would
compute the same paths write the same file, and a rerun replaces it. A file holds, for every path and every step
of its horizon, the cumulative buy-and-hold P&L of the target portfolio (null without a portfolio) and of the
equal-weighted market, as fractions of capital; the last step is the horizon P&L that VaR and ES are computed
from. Writes go to a temporary file beside the target (its name does not end in ``.parquet``, so globs skip it)
that is fsynced and renamed over the target: a failed write leaves the previous file as it was.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

#: Folder of scenario paths under the lake root.
PATHS_DIR = "scenario_paths"
#: Columns of a paths file.
PATH_SCHEMA: dict[str, pl.DataType] = {
    "path": pl.Int32(),
    "step": pl.Int32(),
    "portfolio_pnl": pl.Float64(),
    "market_pnl": pl.Float64(),
}
_TMP_MARK = ".tmp-"


@dataclass(frozen=True)
class PathKey:
    """Which set's paths a file holds."""

    market: str
    config_version: str
    session: date
    scenario_set: str

    def relative(self) -> str:
        """The file's path relative to the lake root (POSIX separators), as ``lake_path`` records it."""
        version = self.config_version[:16] or "none"
        return (f"{PATHS_DIR}/market={self.market}/version={version}/session={self.session.isoformat()}/"
                f"{self.scenario_set}.parquet")  # fmt: skip


class PathSink(Protocol):
    """Where the engine hands each set's paths; returns the ``lake_path`` to record."""

    def write(self, key: PathKey, frame: pl.DataFrame) -> str:
        """Store ``frame`` (columns :data:`PATH_SCHEMA`) under ``key``; the recorded path."""
        ...


def cumulative_pnl(paths: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(paths, horizon) cumulative buy-and-hold P&L of ``weights`` through each step of each path.

    The same arithmetic as :func:`prometheus.engines.scenarios.risk.portfolio_pnl` at every step (each name
    compounds, the weights sum the moves); the last column is its horizon P&L.
    """
    return path_growth(paths, len(weights)) @ np.asarray(weights, dtype=np.float64)


def path_growth(paths: np.ndarray, names: int) -> np.ndarray:
    """(paths, horizon, names) cumulative growth ``prod(1 + r) - 1`` of each name through each step."""
    if np.ndim(paths) != 3 or np.shape(paths)[2] != names:
        raise ValueError(f"paths {np.shape(paths)} do not match {names} weights")
    # One float64 buffer, updated in place: the same operations as cumprod(1 + p) - 1 without two temporaries.
    growth = np.array(paths, dtype=np.float64)
    growth += 1.0
    np.cumprod(growth, axis=1, out=growth)
    growth -= 1.0
    return growth


def path_frame(
    paths: np.ndarray, market_weights: np.ndarray, weights: np.ndarray | None = None, *,
    pnl: np.ndarray | None = None, market_pnl: np.ndarray | None = None, growth: np.ndarray | None = None,
) -> pl.DataFrame:  # fmt: skip
    """The long frame of one set's paths: one row per (path, step), steps 1..horizon.

    ``pnl`` / ``market_pnl`` (horizon P&L per path, as VaR/ES were computed from) replace the last step when given,
    so the file reproduces the recorded VaR and ES exactly rather than to rounding. ``growth``: the paths'
    :func:`path_growth` when the caller already has it.
    """
    n, horizon = int(paths.shape[0]), int(paths.shape[1])
    if growth is None:
        growth = path_growth(paths, len(market_weights))  # once for both series: the cumulative product dominates
    market = growth @ np.asarray(market_weights, dtype=np.float64)
    if market_pnl is not None:
        market[:, -1] = market_pnl
    if weights is not None:
        portfolio = growth @ np.asarray(weights, dtype=np.float64)
        if pnl is not None:
            portfolio[:, -1] = pnl
        port = pl.Series("portfolio_pnl", portfolio.ravel(), dtype=pl.Float64)
    else:
        port = pl.Series("portfolio_pnl", [None] * (n * horizon), dtype=pl.Float64)
    return pl.DataFrame(
        [
            pl.Series("path", np.repeat(np.arange(n, dtype=np.int32), horizon), dtype=pl.Int32),
            pl.Series("step", np.tile(np.arange(1, horizon + 1, dtype=np.int32), n), dtype=pl.Int32),
            port,
            pl.Series("market_pnl", market.ravel(), dtype=pl.Float64),
        ]
    )


def write_atomic(frame: pl.DataFrame, target: Path) -> None:
    """Write ``frame`` as Parquet to ``target``: readers see the previous file or the new one, never a partial one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}{_TMP_MARK}{uuid.uuid4().hex}"
    try:
        frame.write_parquet(tmp, compression="zstd")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        fd = os.open(target.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms that cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class ScenarioPathStore:
    """Scenario path files under ``lake_root`` (the historical store's lake, ``<data_root>/lake``)."""

    def __init__(self, lake_root: Path) -> None:
        self.root = Path(lake_root)

    def write(self, key: PathKey, frame: pl.DataFrame) -> str:
        """Write ``frame`` atomically at ``key``'s path; returns the path relative to the lake root."""
        relative = key.relative()
        write_atomic(frame.select(list(PATH_SCHEMA)).cast(PATH_SCHEMA), self.root / relative)
        return relative

    def resolve(self, lake_path: str) -> Path:
        """The file of a recorded ``lake_path``."""
        return self.root / lake_path

    def read(self, lake_path: str) -> pl.DataFrame:
        """The paths frame of a recorded ``lake_path``, sorted by path and step."""
        return pl.read_parquet(self.resolve(lake_path)).sort("path", "step")


__all__ = [
    "PATHS_DIR",
    "PATH_SCHEMA",
    "PathKey",
    "PathSink",
    "ScenarioPathStore",
    "cumulative_pnl",
    "path_frame",
    "path_growth",
    "write_atomic",
]
