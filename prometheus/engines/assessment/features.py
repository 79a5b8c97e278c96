"""The Assessment engine's feature matrix: the configured families of :mod:`prometheus.features`, point in time.

Each family's reader serves a row of session d from what was known at d's decision time, so a row is the same
whether it is computed for training (years later) or for scoring (on the day). Families are joined on
(date, symbol) onto the Alpha158 rows (the names with a bar known at the decision time); a family without a row
for a name gives nulls, which LightGBM routes as missing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.errors import ConfigError
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.assessment.config import AssessmentConfig, FeatureFamily, Normalisation
from prometheus.features import (
    ENGINE_FEATURES,
    LOOKBACK_SESSIONS,
    RESIDUAL_WINDOW,
    ContextFamily,
    context_features,
    engine_context,
    point_in_time_alpha158,
    point_in_time_context,
    point_in_time_residual,
    point_in_time_signals,
)

#: Tables each family reads (the engine's declared inputs are their union).
FAMILY_TABLES: Mapping[FeatureFamily, tuple[Table, ...]] = {
    FeatureFamily.ALPHA158: (Table.PRICES_ADJUSTED,),
    FeatureFamily.RESIDUAL: (Table.INSTRUMENTS, Table.PRICES_ADJUSTED),
    FeatureFamily.SIGNALS: (Table.SIGNALS,),
    FeatureFamily.EMBEDDING: (Table.INSTRUMENT_EMBEDDINGS,),
    FeatureFamily.PROFILE: (Table.PROFILES,),
    FeatureFamily.EVENT: (Table.EVENTS,),
    FeatureFamily.NEWS: (Table.NEWS_AGGREGATES,),
    FeatureFamily.ENGINE: (Table.INSTRUMENTS,),  # the sector that matches a name to its sector's stability
}
#: The families :func:`point_in_time_context` serves.
_CONTEXT = {
    FeatureFamily.EMBEDDING: ContextFamily.EMBEDDING,
    FeatureFamily.PROFILE: ContextFamily.PROFILE,
    FeatureFamily.EVENT: ContextFamily.EVENT,
    FeatureFamily.NEWS: ContextFamily.NEWS,
}

_KEY = ["date", "symbol"]
#: Features with one value per session (the regime and the market's stability): never rank-normalised (a rank would
#: erase them) nor screened on cross-sectional IC (they have none; they act through interactions). The other engine
#: features (sector stability, fragility of the name and its cluster) vary across names and are treated like any.
MARKET_LEVEL_FEATURES: frozenset[str] = frozenset(
    f.name for f in ENGINE_FEATURES if f.name.startswith("regime_") or f.name == "stability_market"
)


def feature_frame(
    view: TimeMachine,
    calendar: TradingCalendar,
    market: Market,
    sessions: Sequence[date],
    times: Sequence[datetime],
    cfg: AssessmentConfig,
    upstream: Mapping[str, pl.DataFrame],
) -> pl.DataFrame:
    """Feature rows (``date``, ``symbol``, then the features, Float32) of consecutive calendar ``sessions``."""
    before = calendar.sessions_before(market, sessions[0], LOOKBACK_SESSIONS - 1)
    frame = point_in_time_alpha158(view, market, sessions, times, [*before, *sessions])
    if FeatureFamily.ALPHA158 not in cfg.families:
        frame = frame.select(_KEY)
    if FeatureFamily.RESIDUAL in cfg.families:
        history = [*calendar.sessions_before(market, sessions[0], RESIDUAL_WINDOW - 1), *sessions]
        residual = point_in_time_residual(view, market, sessions, times, history)
        frame = frame.join(residual, on=_KEY, how="left")
    if FeatureFamily.SIGNALS in cfg.families:
        frame = frame.join(_signals(view, calendar, market, sessions, times), on=_KEY, how="left")
    context = [_CONTEXT[f] for f in cfg.families if f in _CONTEXT]
    if context:
        names = [f.name for f in context_features(cfg.embedding_dims) if f.family in context]
        rows = point_in_time_context(
            view, market, sessions, times, k=cfg.embedding_dims,
            embedding_config_version=_only_version(view, market, Table.INSTRUMENT_EMBEDDINGS, cfg.embedding_config),
            profile_config_version=_only_version(view, market, Table.PROFILES, cfg.profile_config),
        )  # fmt: skip
        frame = frame.join(rows.select(*_KEY, *names), on=_KEY, how="left")
    if FeatureFamily.ENGINE in cfg.families:
        sectors = _sectors(view, market, frame.select(_KEY), sessions, times)
        engine = engine_context(upstream, sectors).rename({"session": "date", "instrument": "symbol"})
        frame = frame.join(engine, on=_KEY, how="left")
    if cfg.normalisation is Normalisation.RANK:
        frame = _rank_per_session(frame)
    # Float32 halves the frame a long walk-forward keeps (1.4 GB for 500 names x 10 years in Float64); the booster
    # bins features into at most max_bin values anyway.
    return frame.with_columns(pl.col(c).cast(pl.Float32) for c in frame.columns if c not in _KEY).sort(_KEY)


#: Sessions per chunk of :func:`feature_matrix`: a multiple of the Alpha158 (126) and residual (21) read blocks, so
#: each chunk's blocks start where one pass's would and every row comes from the same reads as in one pass.
MATRIX_CHUNK_SESSIONS = 126


@dataclass(frozen=True)
class FeatureMatrix:
    """The rows of :func:`feature_frame` held compactly: ``keys`` (``date``, ``symbol``, ``row``: the row's position in
    the matrix), sorted by date then symbol, and the features as Float32 numpy chunks of consecutive rows.

    Memory: a polars feature frame of a long training span costs several copies of the panel x features while it is
    built, filtered and joined; this keeps one Float32 copy, and a training set gathers only its rows (and the
    columns it uses) from it.
    """

    keys: pl.DataFrame
    chunks: tuple[np.ndarray, ...]  # (rows, features) Float32, C order; chunk k holds rows offsets[k]..offsets[k+1]
    offsets: np.ndarray
    features: tuple[str, ...]

    def take(self, rows: np.ndarray, columns: np.ndarray | None = None) -> np.ndarray:
        """Float32 ``(len(rows), columns)`` of matrix ``rows`` (any order) and feature positions ``columns`` (all
        when None): only the output is allocated."""
        cols = np.arange(len(self.features)) if columns is None else np.asarray(columns)
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), len(cols)), dtype=np.float32)
        chunk = np.searchsorted(self.offsets, rows, side="right") - 1
        for k in np.unique(chunk):
            at = np.nonzero(chunk == k)[0]
            out[at] = self.chunks[k][np.ix_(rows[at] - self.offsets[k], cols)]
        return out


def feature_matrix(
    view: TimeMachine,
    calendar: TradingCalendar,
    market: Market,
    sessions: Sequence[date],
    times: Sequence[datetime],
    cfg: AssessmentConfig,
    upstream: Mapping[str, pl.DataFrame],
    *,
    chunk: int = MATRIX_CHUNK_SESSIONS,
    only: Collection[str] | None = None,
) -> FeatureMatrix:
    """:func:`feature_frame` of ``sessions`` as a :class:`FeatureMatrix`, the same rows and values, built a chunk of
    sessions at a time so only one chunk's polars frames (and their Float64 intermediates) are alive at once.

    Every family serves a session's row from that session's reads alone, and chunks start where one pass's read
    blocks would, so the rows equal one pass's. Should a chunk's feature columns differ from the first's (a vendor
    signal absent from a whole chunk), the column order of one pass is not recoverable from the chunks: the whole
    frame is then computed in one pass. Chunks without rows add nothing (their columns are not compared).

    ``only``: keep just these features (in the frame's order; names it does not compute are simply absent), e.g. a
    scoring run's, whose models read a few dozen of the ~170 columns.
    """
    keys: list[pl.DataFrame] = []
    chunks: list[np.ndarray] = []
    names: tuple[str, ...] | None = None
    for c0 in range(0, len(sessions), chunk):
        frame = feature_frame(view, calendar, market, sessions[c0 : c0 + chunk], times[c0 : c0 + chunk], cfg, upstream)
        if frame.is_empty():
            continue  # no rows (sessions before the history starts); its columns can lack the data-driven ones
        if names is None:
            names = feature_names(frame)
        elif feature_names(frame) != names:
            del keys, chunks, frame  # the chunks so far die before the one pass runs
            return _as_matrix([feature_frame(view, calendar, market, sessions, times, cfg, upstream)], only)
        keys.append(frame.select(_KEY))
        # The frame dies here: its Float32 columns live on only as this chunk's C-order array.
        chunks.append(np.ascontiguousarray(frame.select(_kept(names, only)).to_numpy(), dtype=np.float32))
        del frame
    if names is None:  # no rows at all: the one pass's (empty) frame gives the columns
        return _as_matrix([feature_frame(view, calendar, market, sessions, times, cfg, upstream)], only)
    return _matrix(keys, chunks, _kept(names, only))


def _kept(names: tuple[str, ...], only: Collection[str] | None) -> tuple[str, ...]:
    return names if only is None else tuple(n for n in names if n in set(only))


def _as_matrix(frames: list[pl.DataFrame], only: Collection[str] | None) -> FeatureMatrix:
    names = _kept(feature_names(frames[0]), only)
    keys = [f.select(_KEY) for f in frames]
    chunks = [np.ascontiguousarray(f.select(names).to_numpy(), dtype=np.float32) for f in frames]
    frames.clear()
    return _matrix(keys, chunks, names)


def _matrix(keys: list[pl.DataFrame], chunks: list[np.ndarray], names: tuple[str, ...]) -> FeatureMatrix:
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in chunks], dtype=np.int64)]).astype(np.int64)
    frame = pl.concat(keys) if keys else pl.DataFrame(schema={"date": pl.Date(), "symbol": pl.String()})
    return FeatureMatrix(frame.with_row_index("row").select(*_KEY, pl.col("row").cast(pl.Int64)),
                         tuple(chunks), offsets, names)  # fmt: skip


def _rank_per_session(frame: pl.DataFrame) -> pl.DataFrame:
    """Every per-name feature as its percentile rank among the session's names, in (-0.5, 0.5]; nulls stay null."""
    names = [c for c in frame.columns if c not in _KEY and c not in MARKET_LEVEL_FEATURES]
    return frame.with_columns(
        (pl.col(c).rank("average").over("date") / pl.col(c).count().over("date") - 0.5).alias(c) for c in names
    )


def _signals(
    view: TimeMachine, calendar: TradingCalendar, market: Market, sessions: Sequence[date], times: Sequence[datetime]
) -> pl.DataFrame:
    """Each vendor signal's freshest value known at the session's decision time: the session's own value when it
    was published by then, else the previous session's (a vendor publishing after the decision, as the synthetic
    market does, is one session behind)."""
    own = point_in_time_signals(view, market, sessions, times)
    previous = [*calendar.sessions_before(market, sessions[0], 1), *sessions[:-1]]
    skip = len(sessions) - len(previous)  # 1 at the first session of the calendar, else 0
    served, at = list(sessions[skip:]), list(times[skip:])
    late = point_in_time_signals(view, market, previous, at) if served else own.clear()
    mapping = pl.DataFrame({"date": previous, "session": served},
                           schema={"date": pl.Date(), "session": pl.Date()})  # fmt: skip
    late = late.join(mapping, on="date").drop("date").rename({"session": "date"})
    names = sorted((set(own.columns) | set(late.columns)) - set(_KEY))
    both = late.join(own, on=_KEY, how="full", coalesce=True, suffix="_own")
    return both.select(
        *_KEY, *(pl.coalesce(f"{n}_own", n).alias(n) if f"{n}_own" in both.columns else pl.col(n) for n in names)
    )


def _only_version(view: TimeMachine, market: Market, table: Table, wanted: str) -> str:
    """The config version to read from ``table``: ``wanted``, or the only one present ('' when none)."""
    if wanted:
        return wanted
    versions = view.table(table, market=market, columns=["config_version"])["config_version"].unique().to_list()
    if len(versions) > 1:
        raise ConfigError(
            f"{table.value} of {market.value} holds {len(versions)} config versions; name one in the assessment "
            "config (embedding_config / profile_config)",
            setting="embedding_config" if table is Table.INSTRUMENT_EMBEDDINGS else "profile_config",
        )
    return versions[0] if versions else ""


def _sectors(
    view: TimeMachine, market: Market, rows: pl.DataFrame, sessions: Sequence[date], times: Sequence[datetime]
) -> pl.DataFrame:
    """(session, instrument, sector) of ``rows``: each name's sector as known at its session's decision time."""
    refs = view.table(Table.INSTRUMENTS, market=market, columns=["symbol", "sector", "known_at"]).sort("known_at")
    at = pl.DataFrame({"date": list(sessions), "t": list(times)},
                      schema={"date": pl.Date(), "t": refs.schema["known_at"]})  # fmt: skip
    asked = rows.join(at, on="date").sort("t")
    out = asked.join_asof(
        refs, left_on="t", right_on="known_at", by="symbol", strategy="backward", check_sortedness=False
    )  # both sorted by time above; polars cannot check it per group
    return out.select(pl.col("date").alias("session"), pl.col("symbol").alias("instrument"), "sector")


def feature_names(frame: pl.DataFrame) -> tuple[str, ...]:
    """The feature columns of a :func:`feature_frame` output, in order."""
    return tuple(c for c in frame.columns if c not in _KEY)
