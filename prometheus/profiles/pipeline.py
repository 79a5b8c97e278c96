"""Profiles against the lake: the function the profiles asset and the demo call.

Reads prices, instruments, events and the numeric embeddings through a TimeMachine view; writes upsert
partitions of ``profiles``.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.panel import PricePanel
from prometheus.data.schema import Table
from prometheus.encoders.config import NumericEncoderConfig
from prometheus.encoders.pipeline import LakeContext, history_start, price_panel
from prometheus.profiles.compute import compute_profiles
from prometheus.profiles.config import ProfileConfig


def write_profiles(
    ctx: LakeContext,
    market: Market,
    start: date,
    end: date,
    config: ProfileConfig,
    numeric: NumericEncoderConfig | None,
) -> int:
    """Profiles of the sessions in ``[start, end]``; returns rows written."""
    back = max(config.beta_window, config.vol_window, config.centroid_window) + 1
    first = history_start(ctx, market, start, back)
    try:
        panel = price_panel(ctx, market, first, end)
    except DataError:
        return 0
    return write_panel_profiles(ctx, panel, start, config, numeric)


def write_panel_profiles(
    ctx: LakeContext, panel: PricePanel, start: date, config: ProfileConfig, numeric: NumericEncoderConfig | None
) -> int:
    """Profiles of the sessions of ``panel`` from ``start`` on (earlier sessions are history); returns rows
    written. Embeddings are those of ``numeric``'s config version, or any when None."""
    if not any(d >= start for d in panel.sessions):
        return 0
    market, first, end = panel.market, panel.sessions[0], panel.sessions[-1]
    tables = [Table.INSTRUMENTS, Table.EVENTS, Table.INSTRUMENT_EMBEDDINGS]
    view = ctx.view(market, tables, first, end, panel.decision_times[-1])
    embeddings = view.table(Table.INSTRUMENT_EMBEDDINGS, market=market, start=first, end=end)
    if numeric is not None:
        embeddings = embeddings.filter(pl.col("config_version") == numeric.config_version)
    frame = compute_profiles(
        panel,
        config,
        instruments=view.table(Table.INSTRUMENTS, market=market),
        events=view.table(Table.EVENTS, market=market, start=first, end=end),
        embeddings=embeddings,
        embedding_version=numeric.config_version if numeric is not None else None,
        first_session=next(k for k, d in enumerate(panel.sessions) if d >= start),
    )
    ctx.store.merge(Table.PROFILES, frame)
    return frame.height


__all__ = ["write_panel_profiles", "write_profiles"]
