"""``<market>/encoder_model`` (one numeric model per quarter), ``<market>/instrument_embeddings``,
``<market>/news_embeddings`` and ``<market>/profiles`` (partitioned by ``partitions_for``).

Thin: each asset walks its partition window and calls ``prometheus.encoders`` / ``prometheus.profiles``.
No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from prometheus.calendar import get_calendar
from prometheus.core.settings import load_settings
from prometheus.core.types import Market, Mode
from prometheus.encoders import (
    LakeContext,
    NumericEncoderConfig,
    RetrainPeriod,
    TextEncoderConfig,
    train_numeric_model,
    write_news_embeddings,
    write_numeric_embeddings,
    write_profiles,
)
from prometheus.profiles import ProfileConfig
from prometheus_assets.partitions import PARTITIONS_START, partitions_for
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource

#: Quarter starts (the numeric encoder's retraining periods).
QUARTER_CRON = "0 0 1 1,4,7,10 *"


def retraining_partitions(market: Market) -> dg.TimeWindowPartitionsDefinition:
    """One partition per calendar quarter: the model serving that quarter, trained on the sessions before it."""
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=QUARTER_CRON, fmt="%Y-%m-%d", start=PARTITIONS_START.isoformat(),
        timezone=str(get_calendar().tz(market)), end_offset=1,
    )  # fmt: skip


def _context(historical: HistoricalStoreResource, calendar: CalendarResource) -> LakeContext:
    delay = timedelta(seconds=load_settings().bar_delay_seconds)
    return LakeContext(historical.store(), Path(historical.data_root), delay, calendar.calendar())


def _days(window: dg.TimeWindow) -> tuple[date, date]:
    return window.start.date(), (window.end - timedelta(days=1)).date()


def _quarter_starts(window: dg.TimeWindow) -> list[date]:
    first, last = _days(window)
    out, d = [], date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
    while d <= last:
        out.append(d)
        d = date(d.year + (d.month == 10), (d.month + 2) % 12 + 1, 1)
    return out


def build_encoder_assets(
    market: Market,
    mode: Mode,
    numeric: NumericEncoderConfig | None = None,
    text: TextEncoderConfig | None = None,
    profiles: ProfileConfig | None = None,
) -> list[dg.AssetsDefinition]:
    """The encoder model, embeddings, news embeddings and profiles assets of ``market`` for ``mode``."""
    num = numeric or NumericEncoderConfig()
    if num.retrain is not RetrainPeriod.QUARTER:
        raise ValueError("the encoder model asset is partitioned by quarter: numeric.retrain must be 'quarter'")
    txt, prof = text or TextEncoderConfig(), profiles or ProfileConfig()
    prefix = market.value.lower()
    model_key, emb_key = dg.AssetKey([prefix, "encoder_model"]), dg.AssetKey([prefix, "instrument_embeddings"])
    prices_key, news_key = dg.AssetKey([prefix, "prices_adjusted"]), dg.AssetKey([prefix, "news"])
    common = {"backfill_policy": dg.BackfillPolicy.single_run(), "group_name": "encoders", "owners": ["team:research"],
              "code_version": "1"}  # fmt: skip

    @dg.asset(key=model_key, deps=[prices_key], partitions_def=retraining_partitions(market),
              kinds={"python", "torch"}, description=f"Numeric encoder of {market.value} per quarter.",
              **common)  # fmt: skip
    def encoder_model(
        context: dg.AssetExecutionContext, historical: HistoricalStoreResource, calendar: CalendarResource
    ) -> dg.MaterializeResult:
        ctx = _context(historical, calendar)
        models = [train_numeric_model(ctx, market, q, num) for q in _quarter_starts(context.partition_time_window)]
        trained = [m for m in models if m is not None]
        return dg.MaterializeResult(metadata={
            "models": len(trained), "skipped_short_history": len(models) - len(trained),
            "config_version": num.config_version,
            "train_loss": float(trained[-1].train_loss or 0.0) if trained else 0.0,
            "alignment_residual": float(trained[-1].alignment_residual or 0.0) if trained else 0.0,
        })  # fmt: skip

    @dg.asset(key=emb_key, deps=[model_key, prices_key], partitions_def=partitions_for(market, mode),
              kinds={"python", "parquet"}, description=f"Numeric embeddings of {market.value} per session.",
              **common)  # fmt: skip
    def instrument_embeddings(
        context: dg.AssetExecutionContext, historical: HistoricalStoreResource, calendar: CalendarResource
    ) -> dg.MaterializeResult:
        start, end = _days(context.partition_time_window)
        rows = write_numeric_embeddings(_context(historical, calendar), market, start, end, num)
        return dg.MaterializeResult(metadata={"rows": rows, "config_version": num.config_version})

    @dg.asset(key=[prefix, "news_embeddings"], deps=[news_key], partitions_def=partitions_for(market, mode),
              kinds={"python", "parquet", "torch"}, description=f"MiniLM news embeddings of {market.value}.",
              **common)  # fmt: skip
    def news_embeddings(
        context: dg.AssetExecutionContext, historical: HistoricalStoreResource, calendar: CalendarResource
    ) -> dg.MaterializeResult:
        start, end = _days(context.partition_time_window)
        items, aggregates = write_news_embeddings(_context(historical, calendar), market, start, end, txt)
        return dg.MaterializeResult(metadata={"items": items, "aggregates": aggregates})

    @dg.asset(key=[prefix, "profiles"], deps=[emb_key, prices_key], partitions_def=partitions_for(market, mode),
              kinds={"python", "parquet"}, description=f"Point-in-time instrument profiles of {market.value}.",
              **common)  # fmt: skip
    def profiles_asset(
        context: dg.AssetExecutionContext, historical: HistoricalStoreResource, calendar: CalendarResource
    ) -> dg.MaterializeResult:
        start, end = _days(context.partition_time_window)
        rows = write_profiles(_context(historical, calendar), market, start, end, prof, num)
        return dg.MaterializeResult(metadata={"rows": rows, "config_version": prof.config_version})

    return [encoder_model, instrument_embeddings, news_embeddings, profiles_asset]
