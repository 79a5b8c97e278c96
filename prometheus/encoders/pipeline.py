"""Encoders against the lake: the functions the assets and the demo call.

Reads go through TimeMachine views over a snapshot of the needed tables; writes replace or upsert partitions
of ``encoder_models``, ``instrument_embeddings``, ``news_embeddings`` and ``news_aggregates``. Profiles, which
read the embeddings, live a layer above in :mod:`prometheus.profiles`.
Model artifacts live under ``<data_root>/models/encoders``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from prometheus.calendar import TradingCalendar, get_calendar
from prometheus.core.errors import DataError
from prometheus.core.settings import Settings
from prometheus.core.types import Market
from prometheus.data.known_at import decision_times as session_decision_times
from prometheus.data.panel import PANEL_TABLES, PricePanel, load_price_panel
from prometheus.data.schema import ENCODER_MODELS, Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.encoders.config import EncoderKind, NumericEncoderConfig, TextEncoderConfig
from prometheus.encoders.numeric.artifacts import NumericModel, artifact_dir, load_model, save_model
from prometheus.encoders.numeric.walkforward import (
    Period,
    embed_period,
    features_of,
    retraining_periods,
    train_period,
)
from prometheus.encoders.text.minilm import aggregate_news, load_text_model, news_item_embeddings, news_items

#: Folder of encoder artifacts under the data root.
MODELS_FOLDER = Path("models") / "encoders"


@dataclass(frozen=True)
class LakeContext:
    """Where and how to read and write: the store, calendar, bar delay and data root."""

    store: HistoricalStore
    data_root: Path
    bar_delay: timedelta
    calendar: TradingCalendar = field(default_factory=get_calendar)

    @classmethod
    def from_settings(cls, settings: Settings) -> LakeContext:
        """The context of the settings' data root."""
        return cls(
            HistoricalStore.from_settings(settings), settings.data_path, timedelta(seconds=settings.bar_delay_seconds)
        )

    @property
    def models_root(self) -> Path:
        """``<data_root>/models/encoders``."""
        return self.data_root / MODELS_FOLDER

    def sessions(self, market: Market, start: date, end: date) -> tuple[list[date], tuple[datetime, ...]]:
        """Sessions in ``[start, end]`` and their decision times."""
        days = self.calendar.sessions(market, start, end)
        return days, session_decision_times(self.calendar, market, days, self.bar_delay)

    def view(self, market: Market, tables: Sequence[Table], start: date, end: date, as_of: datetime) -> TimeMachine:
        """A view at ``as_of`` over a snapshot of ``tables`` dated in ``[start, end]``."""
        snap = HistorySnapshot.load(self.store, tables, known_until=as_of, market=market, start=start, end=end)
        return TimeMachine(snap, as_of)


def price_panel(ctx: LakeContext, market: Market, start: date, end: date) -> PricePanel:
    """The point-in-time price panel of ``market`` over the sessions in ``[start, end]``.

    Raises
    ------
    DataError
        No sessions, or no ``prices_adjusted`` rows in the range (run the ingestion first).
    """
    days, dts = ctx.sessions(market, start, end)
    if not days:
        raise DataError(f"no {market.value} sessions between {start} and {end}", field="sessions")
    view = ctx.view(market, list(PANEL_TABLES), days[0], days[-1], dts[-1])
    panel = load_price_panel(view, market, days, dts)
    if not panel.symbols:
        raise DataError(
            f"no prices_adjusted rows for {market.value} {start}..{end}; ingest first", file="prices_adjusted"
        )
    return panel


def history_start(ctx: LakeContext, market: Market, first: date, sessions_back: int) -> date:
    """The session ``sessions_back`` sessions before ``first`` (or the earliest there is): where a window's
    history must start."""
    days = ctx.calendar.sessions_before(market, first, sessions_back + 1, inclusive=True)
    return days[0] if days else first


# ------------------------------------------------------------------------------------------ numeric encoder
def registry(ctx: LakeContext, market: Market, config: NumericEncoderConfig) -> pl.DataFrame:
    """Rows of ``encoder_models`` for ``config``, sorted by period."""
    rows = ctx.store.read(Table.ENCODER_MODELS, market=market)
    return rows.filter(
        (pl.col("encoder") == EncoderKind.NUMERIC.value) & (pl.col("config_version") == config.config_version)
    ).sort("date")


def model_in_force(ctx: LakeContext, market: Market, config: NumericEncoderConfig, day: date) -> NumericModel | None:
    """The model whose period contains ``day`` (or the latest before it), loaded from its artifact."""
    reg = registry(ctx, market, config).filter(pl.col("date") <= day)
    if reg.is_empty():
        return None
    return load_model(ctx.data_root / reg["artifact"][-1])


def train_numeric_model(
    ctx: LakeContext, market: Market, period_start: date, config: NumericEncoderConfig
) -> NumericModel | None:
    """Train (and register) the model of the period starting at ``period_start`` on the data before it.

    Warm-starts from and aligns to the previous period's registered model. None when history is too short.
    """
    period = retraining_periods([period_start], config.retrain)[0]
    previous = model_in_force(ctx, market, config, period.start - timedelta(days=1))
    start = history_start(ctx, market, period.start, config.train_sessions + config.lookback_sessions)
    try:
        panel = price_panel(ctx, market, start, period.start - timedelta(days=1))
    except DataError:
        return None  # no prices before the period: nothing to train on
    # The panel ends the day before the period: the model sees only sessions before it.
    model = train_period(panel, features_of(panel, config), period, config, previous)
    if model is None:
        return None
    folder = save_model(model, ctx.models_root)
    ctx.store.merge(Table.ENCODER_MODELS, model_row(model, folder.relative_to(ctx.data_root)))
    return model


def model_row(model: NumericModel, artifact: Path) -> pl.DataFrame:
    """The ``encoder_models`` row of ``model``."""
    return pl.DataFrame(
        {
            "market": [model.market.value],
            "date": [model.period_start],
            "encoder": [EncoderKind.NUMERIC.value],
            "config_version": [model.config.config_version],
            "model_version": [model.model_version],
            "period_end": [model.period_end],
            "train_start": [model.train_start],
            "train_end": [model.train_end],
            "seed": [model.seed],
            "artifact": [Path(artifact).as_posix()],
            "sha256": [model.weights_sha256],
            "train_loss": [model.train_loss],
            "alignment_residual": [model.alignment_residual],
            "known_at": [model.known_at],
        },
        schema=ENCODER_MODELS.polars_schema,
    )


def write_numeric_embeddings(
    ctx: LakeContext, market: Market, start: date, end: date, config: NumericEncoderConfig
) -> int:
    """Embed the sessions in ``[start, end]`` with the model in force for each period; returns rows written."""
    first = history_start(ctx, market, start, config.lookback_sessions)
    try:
        panel = price_panel(ctx, market, first, end)
    except DataError:
        return 0  # a window without prices (before the history starts) writes nothing
    features = features_of(panel, config)
    frames = []
    for period in retraining_periods([d for d in panel.sessions if d >= start], config.retrain):
        model = model_in_force(ctx, market, config, period.start)
        if model is None or model.period_start != period.start:
            continue  # no model for this period: nothing is embedded rather than reusing a stale one
        clipped = Period(max(period.start, start), min(period.end, end))
        frames.append(embed_period(panel, features, model, clipped))
    if not frames:
        return 0
    frame = pl.concat(frames)
    ctx.store.merge(Table.INSTRUMENT_EMBEDDINGS, frame)
    return frame.height


# ---------------------------------------------------------------------------------------------- text encoder
def write_news_embeddings(
    ctx: LakeContext,
    market: Market,
    start: date,
    end: date,
    config: TextEncoderConfig,
    *,
    max_items: int | None = None,
    model: object | None = None,
) -> tuple[int, int]:
    """Embed the news items dated in ``[start, end]`` (at most ``max_items``) and aggregate them per session.

    Returns (items embedded, aggregate rows written).
    """
    days, dts = ctx.sessions(market, start, end)
    if not days:
        return 0, 0
    view = ctx.view(market, [Table.NEWS], days[0], days[-1], dts[-1])
    news = view.table(Table.NEWS, market=market, start=days[0], end=days[-1])
    items = news_items(news, max_items=max_items)
    if items.is_empty():
        return 0, 0
    encoder = model if model is not None else load_text_model(config)
    embedded = news_item_embeddings(items, encoder, config, market)
    ctx.store.merge(Table.NEWS_EMBEDDINGS, embedded)
    mentions = news.filter(pl.col("item_id").is_in(items["item_id"].implode()))
    aggregates = aggregate_news(mentions, embedded, days, dts, config.lookback_sessions, market)
    if not aggregates.is_empty():
        ctx.store.merge(Table.NEWS_AGGREGATES, aggregates)
    return embedded.height, aggregates.height


__all__ = [
    "MODELS_FOLDER",
    "LakeContext",
    "artifact_dir",
    "history_start",
    "model_in_force",
    "model_row",
    "price_panel",
    "registry",
    "train_numeric_model",
    "write_news_embeddings",
    "write_numeric_embeddings",
]
