"""``<market>/order_submissions`` and ``<m>_submit_orders_job`` (PAPER / LIVE): the orders for the next open.

Partition D executes the target portfolio decided at the close of session D with MOO orders for the next open:
the market-state sensor asks for it at the PRE_OPEN that follows D. The asset is thin: it connects to IB through
the broker resource's config (kill switch, execution store, broker alerts: ``prometheus.orchestration.ib_session``),
runs :func:`prometheus.orchestration.execute_targets` and reports what went out. A second run of a partition sends
nothing twice: every order's ``order_ref`` is derived from (account, session, instrument, intent) and checked
against the runtime store and IB after reconciliation.

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

import dagster as dg

from prometheus.core.settings import Settings
from prometheus.core.time import utc_now
from prometheus.core.types import Mode
from prometheus.engines.portfolio import PORTFOLIO_SPEC
from prometheus.execution.live import ExecuteConfig, ExecutionSummary
from prometheus.execution.planner import PlannerConfig
from prometheus.execution.risk_limits import risk_limits_from_settings
from prometheus.execution.types import OrderType
from prometheus.orchestration import Clock, MarketWatch, execute_targets, ib_session
from prometheus_assets.launch import MARKET_TAG
from prometheus_assets.partitions import MarketScope, sessions_in_window
from prometheus_assets.sensors import ORDER_ASSET, ORDER_FLOW, flow_job_name
from prometheus_resources.broker import IbBrokerResource
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource


class SubmitOrdersConfig(dg.Config):
    """Run config of the order job."""

    order_type: str = OrderType.MOO.value
    wait_s: float = 30.0


def summary_metadata(summary: ExecutionSummary) -> dict[str, object]:
    """Counts of a session's execution (plotted over partitions) and its summary lines."""
    return {
        "orders_planned": summary.planned,
        "orders_sent": len(summary.sent),
        "orders_skipped": len(summary.already_sent),
        "orders_rejected": len(summary.rejected),
        "orders_working": len(summary.still_working),
        "fills": summary.fills,
        "unpriced": len(summary.unpriced),
        "settled": summary.settled,
        "source": summary.source,
        "summary": dg.MetadataValue.md("\n".join(f"- {line}" for line in summary.lines())),
    }


def build_order_assets(scope: MarketScope, settings: Settings, clock: Clock = utc_now) -> list[dg.AssetsDefinition]:
    """The order asset of ``scope.market`` in PAPER / LIVE (none in BACKTEST: the simulator trades there).

    ``clock`` is what the asset takes as now when it refuses a session that is no longer the latest closed one.
    """
    if scope.mode is Mode.BACKTEST:
        return []
    market = scope.market

    @dg.asset(
        key=scope.key(ORDER_ASSET),
        deps=[scope.key(PORTFOLIO_SPEC.output_table)],
        partitions_def=scope.partitions,
        group_name=scope.prefix,
        tags=scope.tags("execution"),
        kinds={"python", "sql"},
        owners=["team:trading"],
        code_version=PlannerConfig().config_version,
        description=f"Orders for the open after each session of {market.value}: the session's target portfolio "
        "planned against the IB account, through the RiskGate, sent once (order_ref), fills recorded.",
    )
    def order_submissions(
        context: dg.AssetExecutionContext,
        config: SubmitOrdersConfig,
        broker: IbBrokerResource,
        runtime: RuntimeStoreResource,
        historical: HistoricalStoreResource,
        calendar: CalendarResource,
    ) -> dg.MaterializeResult:
        cal = calendar.calendar()
        sessions = sessions_in_window(market, context.partition_time_window)
        latest = MarketWatch(cal, market).session_closed_by(clock())
        # Orders of an older session would trade a stale portfolio at the next open (a backfill must not do that).
        if sessions != [latest]:
            raise dg.Failure(f"{market.value}: orders go out only for the latest closed session ({latest}), "
                             f"not for partition {context.partition_key}")  # fmt: skip
        execute = ExecuteConfig(planner=PlannerConfig(order_type=OrderType(config.order_type)), wait_s=config.wait_s)
        limits = risk_limits_from_settings(settings)
        store = runtime.store()
        try:
            with ib_session(broker.ib_config(), store, market, execute.planner.config_version,
                            settings.alert_webhook) as ib:  # fmt: skip
                done = execute_targets(ib, historical.store(), cal, limits, latest, execute)
        finally:
            store.close()
        if done.tripped is not None:
            context.log.warning(f"kill switch {done.tripped.state.value}: {done.tripped.reason}")
        for line in done.summary.lines():
            context.log.info(line)
        metadata = summary_metadata(done.summary)
        if done.summary.errors:
            # Sending stopped early (the connection degraded): the NEW rows stay and the next run sends them.
            raise dg.Failure(f"sending stopped early: {'; '.join(done.summary.errors)}", metadata=metadata)
        return dg.MaterializeResult(metadata=metadata)

    return [order_submissions]


def build_order_jobs(scope: MarketScope) -> "list[dg.UnresolvedAssetJobDefinition]":
    """``<m>_submit_orders_job`` in PAPER / LIVE: the market-state sensor finds it (``order_job_for``)."""
    if scope.mode is Mode.BACKTEST:
        return []
    return [
        dg.define_asset_job(
            flow_job_name(scope, ORDER_FLOW),
            selection=dg.AssetSelection.assets(scope.key(ORDER_ASSET)),
            description=f"Send the orders for the next open of {scope.market.value} (MOO by default): the latest "
            "closed session's target portfolio, asked for by the market-state sensor at PRE_OPEN.",
            tags={MARKET_TAG: scope.market.value, "prometheus/flow": ORDER_FLOW},
        )
    ]
