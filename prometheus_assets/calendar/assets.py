"""``<market>/trading_sessions``: the sessions with opens and closes, written to the lake.

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

from datetime import timedelta
from importlib.metadata import version

import dagster as dg

from prometheus.core.types import Market, Mode
from prometheus.data.sessions import publish_trading_sessions
from prometheus_assets.partitions import partitions_for
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource


def build_trading_sessions_asset(market: Market, mode: Mode) -> dg.AssetsDefinition:
    """The trading-sessions asset of ``market``, partitioned for ``mode``."""

    @dg.asset(
        key=[market.value.lower(), "trading_sessions"],
        partitions_def=partitions_for(market, mode),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="calendar",
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
