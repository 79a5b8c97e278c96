"""The Assessment engine's feature matrix: the configured families of :mod:`prometheus.features`, point in time.

Each family's reader serves a row of session d from what was known at d's decision time, so a row is the same
whether it is computed for training (years later) or for scoring (on the day). Families are joined on
(date, symbol) onto the Alpha158 rows (the names with a bar known at the decision time); a family without a row
for a name gives nulls, which LightGBM routes as missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

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
