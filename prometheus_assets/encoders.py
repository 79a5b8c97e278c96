"""``<market>/encoder_model`` (one numeric model per quarter), ``<market>/instrument_embeddings``,
``<market>/news_embeddings`` and ``<market>/profiles`` (partitioned by ``partitions_for``).

Thin: each asset walks its partition window and calls ``prometheus.encoders`` / ``prometheus.profiles``.
No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from prometheus.core.settings import load_settings
from prometheus.core.types import Market
from prometheus.data.checks import FrameRules, check_names, frame_checks
from prometheus.data.schema import (
    ENCODER_MODELS,
    INSTRUMENT_EMBEDDINGS,
    NEWS_EMBEDDINGS,
    PROFILES,
    Partitioning,
    TableSchema,
)
from prometheus.encoders import (
    LakeContext,
    NumericEncoderConfig,
    RetrainPeriod,
    TextEncoderConfig,
    train_numeric_model,
    write_news_embeddings,
    write_numeric_embeddings,
)
from prometheus.profiles import ProfileConfig, profile_version, write_profiles
from prometheus_assets.metadata import check_result, column_schema
from prometheus_assets.partitions import LAKE_POOL, MarketScope, sessions_in_window
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource

#: Months per retraining period: one model partition per period.
PERIOD_MONTHS = {RetrainPeriod.MONTH: 1, RetrainPeriod.QUARTER: 3, RetrainPeriod.YEAR: 12}


def _context(historical: HistoricalStoreResource, calendar: CalendarResource) -> LakeContext:
    delay = timedelta(seconds=load_settings().bar_delay_seconds)
    return LakeContext(historical.store(), Path(historical.data_root), delay, calendar.calendar())


def _days(window: dg.TimeWindow) -> tuple[date, date]:
    return window.start.date(), (window.end - timedelta(days=1)).date()


def _period_starts(window: dg.TimeWindow, months: int) -> list[date]:
    """First days of the retraining periods starting in ``window``."""
    first, last = _days(window)
    out, d = [], date(first.year, 1 + (first.month - 1) // months * months, 1)
    while d <= last:
        if d >= first:
            out.append(d)
        month = d.month - 1 + months
        d = date(d.year + month // 12, month % 12 + 1, 1)
    return out


#: The output checks of each encoder asset: the table it writes and the rules its rows are held to. Embeddings
#: and profiles cover every session; news and models are sparse (news days, retraining periods).
TABLE_RULES: dict[str, tuple[TableSchema, FrameRules]] = {
    "encoder_model": (ENCODER_MODELS, FrameRules.of_table(ENCODER_MODELS, ("artifact", "sha256"), per_session=False)),
    "instrument_embeddings": (INSTRUMENT_EMBEDDINGS, FrameRules.of_table(INSTRUMENT_EMBEDDINGS, ("embedding",))),
    "news_embeddings": (NEWS_EMBEDDINGS, FrameRules.of_table(NEWS_EMBEDDINGS, ("embedding",), per_session=False)),
    "profiles": (PROFILES, FrameRules.of_table(PROFILES, ("vol", "adv"))),
}


def _checks(name: str, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(c.value, asset=key, description=c.value.replace("_", " ")) for c in
            check_names(TABLE_RULES[name][1])]  # fmt: skip


def _table_meta(name: str) -> dict[str, object]:
    return {"dagster/column_schema": column_schema(TABLE_RULES[name][0].columns)}


def _written(
    name: str, historical: HistoricalStoreResource, market: Market, window: dg.TimeWindow, where: Mapping[str, str]
) -> tuple[dict[str, object], list[dg.AssetCheckResult]]:
    """Read back what the asset wrote for ``window`` (rows matching ``where``) and check it."""
    table, rules = TABLE_RULES[name]
    start, end = _days(window)
    if table.partitioning is Partitioning.MARKET:  # one file per market: read it whole, keep the window
        frame = historical.store().read(table.table, market=market).filter(pl.col("date").is_between(start, end))
    else:
        frame = historical.store().read(table.table, market=market, start=start, end=end)
    for column, value in where.items():
        frame = frame.filter(pl.col(column) == value)
    outcomes = frame_checks(rules, frame, sessions_in_window(market, window))
    return {"dagster/row_count": frame.height}, [check_result(o) for o in outcomes]


def build_encoder_assets(
    scope: MarketScope,
    numeric: NumericEncoderConfig | None = None,
    text: TextEncoderConfig | None = None,
    profiles: ProfileConfig | None = None,
) -> list[dg.AssetsDefinition]:
    """The encoder model (one partition per retraining period), embeddings, news embeddings and profiles assets."""
    num = numeric or NumericEncoderConfig()
    txt, prof = text or TextEncoderConfig(), profiles or ProfileConfig()
    market, prefix, months = scope.market, scope.prefix, PERIOD_MONTHS[num.retrain]
    model_key, emb_key = dg.AssetKey([prefix, "encoder_model"]), dg.AssetKey([prefix, "instrument_embeddings"])
    prices_key, news_key = dg.AssetKey([prefix, "prices_adjusted"]), dg.AssetKey([prefix, "news"])
    news_emb_key, profiles_key = dg.AssetKey([prefix, "news_embeddings"]), dg.AssetKey([prefix, "profiles"])
    common = {"backfill_policy": dg.BackfillPolicy.single_run(), "group_name": prefix, "owners": ["team:research"],
              "tags": scope.tags("encoders")}  # fmt: skip
    prof_version = profile_version(prof, num.config_version)

    @dg.asset(key=model_key, deps=[prices_key], pool=LAKE_POOL, partitions_def=scope.periods(months),
              kinds={"python", "torch"}, description=f"Numeric encoder of {market.value} per quarter.",
              code_version=num.config_version, check_specs=_checks("encoder_model", model_key),
              metadata=_table_meta("encoder_model"), **common)  # fmt: skip
    def encoder_model(
        context: dg.AssetExecutionContext, historical: HistoricalStoreResource, calendar: CalendarResource
    ) -> dg.MaterializeResult:
        ctx = _context(historical, calendar)
        starts = _period_starts(context.partition_time_window, months)
        models = [train_numeric_model(ctx, market, q, num) for q in starts]
        trained = [m for m in models if m is not None]
        meta, checks = _written("encoder_model", historical, market, context.partition_time_window,
                                {"encoder": "numeric", "config_version": num.config_version})  # fmt: skip
        return dg.MaterializeResult(metadata={
            **meta, "models": len(trained), "skipped_short_history": len(models) - len(trained),
            "config_version": num.config_version,
            "train_loss": float(trained[-1].train_loss or 0.0) if trained else 0.0,
            "alignment_residual": float(trained[-1].alignment_residual or 0.0) if trained else 0.0,
        }, check_results=checks)  # fmt: skip

    @dg.asset(key=emb_key, deps=[model_key, prices_key], pool=LAKE_POOL, partitions_def=scope.partitions,
              kinds={"python", "parquet"}, description=f"Numeric embeddings of {market.value} per session.",
              code_version=num.config_version, check_specs=_checks("instrument_embeddings", emb_key),
              metadata=_table_meta("instrument_embeddings"), **common)  # fmt: skip
    def instrument_embeddings(
        context: dg.AssetExecutionContext, historical: HistoricalStoreResource, calendar: CalendarResource
    ) -> dg.MaterializeResult:
        start, end = _days(context.partition_time_window)
        rows = write_numeric_embeddings(_context(historical, calendar), market, start, end, num)
        meta, checks = _written("instrument_embeddings", historical, market, context.partition_time_window,
                                {"config_version": num.config_version})  # fmt: skip
        return dg.MaterializeResult(metadata={**meta, "rows_written": rows, "config_version": num.config_version},
                                    check_results=checks)  # fmt: skip

    @dg.asset(key=news_emb_key, deps=[news_key], pool=LAKE_POOL, partitions_def=scope.partitions,
              kinds={"python", "parquet", "torch"}, description=f"MiniLM news embeddings of {market.value}.",
              code_version=txt.config_version, check_specs=_checks("news_embeddings", news_emb_key),
              metadata=_table_meta("news_embeddings"), **common)  # fmt: skip
    def news_embeddings(
        context: dg.AssetExecutionContext, historical: HistoricalStoreResource, calendar: CalendarResource
    ) -> dg.MaterializeResult:
        start, end = _days(context.partition_time_window)
        items, aggregates = write_news_embeddings(_context(historical, calendar), market, start, end, txt)
        meta, checks = _written("news_embeddings", historical, market, context.partition_time_window, {})
        return dg.MaterializeResult(metadata={**meta, "items": items, "aggregates": aggregates},
                                    check_results=checks)  # fmt: skip

    @dg.asset(key=profiles_key, deps=[emb_key, prices_key], pool=LAKE_POOL, partitions_def=scope.partitions,
              kinds={"python", "parquet"}, description=f"Point-in-time instrument profiles of {market.value}.",
              code_version=prof_version, check_specs=_checks("profiles", profiles_key),
              metadata=_table_meta("profiles"), **common)  # fmt: skip
    def profiles_asset(
        context: dg.AssetExecutionContext, historical: HistoricalStoreResource, calendar: CalendarResource
    ) -> dg.MaterializeResult:
        start, end = _days(context.partition_time_window)
        rows = write_profiles(_context(historical, calendar), market, start, end, prof, num)
        meta, checks = _written("profiles", historical, market, context.partition_time_window,
                                {"config_version": prof_version})  # fmt: skip
        return dg.MaterializeResult(metadata={**meta, "rows_written": rows, "config_version": prof_version},
                                    check_results=checks)  # fmt: skip

    return [encoder_model, instrument_embeddings, news_embeddings, profiles_asset]
