"""``<market>/trading_sessions``: the sessions with opens and closes, written to the lake.

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

from datetime import timedelta
from importlib.metadata import version

import dagster as dg

from prometheus.data.sessions import publish_trading_sessions
from prometheus_assets.partitions import LAKE_POOL, MarketScope
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource


def build_trading_sessions_asset(scope: MarketScope) -> dg.AssetsDefinition:
    """The trading-sessions asset of ``scope.market``, partitioned for its mode."""
    market = scope.market

    @dg.asset(
        key=scope.key("trading_sessions"),
        partitions_def=scope.partitions,
        pool=LAKE_POOL,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=scope.prefix,
        tags=scope.tags("calendar"),
        kinds={"parquet", "python"},
        owners=["team:platform"],
        code_version=f"exchange_calendars-{version('exchange_calendars')}",
        description=f"Sessions of {market.value} with opens, closes and breaks (UTC), from exchange_calendars.",
    )
    def trading_sessions(
        context: dg.AssetExecutionContext, historical: HistoricalStoreResource, calendar: CalendarResource
    ) -> dg.MaterializeResult:
        window = context.partition_time_window
        result = publish_trading_sessions(
            historical.store(),
            calendar.calendar(),
            market,
            window.start.date(),
            (window.end - timedelta(days=1)).date(),
        )
        return dg.MaterializeResult(
            metadata={
                "sessions": result.sessions,
                "early_closes": result.early_closes,
                "first_session": str(result.first) if result.first else "",
                "last_session": str(result.last) if result.last else "",
            }
        )

    return trading_sessions
