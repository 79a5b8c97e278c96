"""``<market>/backtest_daily``: the target portfolios through the planner, the RiskGate and the BacktestBroker.

The asset depends on its own previous partition (the account carries over: positions, cash, the month's traded
volume), on the target portfolios and on the universe and regime outputs it reads; it walks the sessions of its
partition window in order, so the same code serves a month in BACKTEST and one session in PAPER/LIVE.

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

import dagster as dg
import polars as pl

from prometheus.backtest import BACKTEST_DAILY_SCHEMA
from prometheus.backtest.config import BacktestConfig
from prometheus.backtest.window import backtest_window
from prometheus.data.schema import Table
from prometheus.engines.portfolio import PORTFOLIO_SPEC
from prometheus.engines.regime import REGIME_SPEC
from prometheus.engines.universe import UNIVERSE_SPEC
from prometheus.reporting import compute_metrics, equity_png, markdown_summary
from prometheus_assets.engines._common import NO_NOTES, bar_delay, experiment_of
from prometheus_assets.ingestion import table_dep
from prometheus_assets.metadata import png_markdown, table_preview
from prometheus_assets.partitions import MarketScope, sessions_in_window
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource

#: Asset name (and runtime table) of the daily backtest results.
BACKTEST_ASSET = "backtest_daily"
#: Largest relative gap between equity and cash + sum shares x close the reconciliation check accepts.
RECONCILE_TOLERANCE = 1e-9


def build_backtest_assets(scope: MarketScope, config: BacktestConfig | None = None) -> list[dg.AssetsDefinition]:
    """The backtest results asset of ``scope.market`` with its checks."""
    cfg = config or BacktestConfig()
    market = scope.market
    key = scope.key(BACKTEST_ASSET)
    previous = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True)
    deps = [
        dg.AssetDep(key, partition_mapping=previous),
        *(scope.key(s.output_table) for s in (PORTFOLIO_SPEC, UNIVERSE_SPEC, REGIME_SPEC)),
        *(k for k in (table_dep(market, t) for t in (Table.PRICES_DAILY, Table.CORPORATE_ACTIONS)) if k is not None),
    ]
    checks = [
        dg.AssetCheckSpec(
            "equity_reconciles", asset=key, description="equity = cash + sum shares x close on every session"
        ),  # fmt: skip
        dg.AssetCheckSpec(
            "no_missing_results", asset=key, description="one row per session, equity and returns finite"
        ),  # fmt: skip
    ]

    @dg.asset(
        key=key,
        deps=deps,
        partitions_def=scope.partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=checks,
        group_name=scope.prefix,
        tags=scope.tags("backtest"),
        kinds={"python", "sql"},
        owners=["team:research"],
        code_version=cfg.config_version,
        description=f"Simulated execution of the target portfolios and the 1/N baseline ({market.value}): orders, "
        "fills, positions and cash under the experiment, and one results row per session.",
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(k, str(v[0]), description=v[1]) for k, v in BACKTEST_DAILY_SCHEMA.items()]
            )
        },  # fmt: skip
    )
    def backtest_asset(
        context: dg.AssetExecutionContext,
        historical: HistoricalStoreResource,
        runtime: RuntimeStoreResource,
        calendar: CalendarResource,
    ) -> dg.MaterializeResult:
        sessions = sessions_in_window(market, context.partition_time_window)
        if not sessions:
            return dg.MaterializeResult(
                metadata={"sessions": 0, "dagster/row_count": 0},
                check_results=[dg.AssetCheckResult(check_name=c.name, passed=True) for c in checks],
            )
        report = backtest_window(historical.store(), runtime.store(), calendar.calendar(), market, sessions,
                                 experiment_of(context, scope.mode), cfg, bar_delay())  # fmt: skip
        for note in report.notes:
            context.log.warning(note)
        daily = report.daily
        finite = daily.select(pl.col("equity", "daily_return").is_finite().all()).row(0)
        complete = daily["session"].to_list() == sessions and all(finite)
        first, last = daily["equity"][0] / (1 + daily["daily_return"][0]), daily["equity"][-1]
        return dg.MaterializeResult(
            metadata={
                "sessions": len(sessions),
                "dagster/row_count": daily.height,
                "config_version": report.config_version,
                "equity": float(last),
                "window_return": float(last / first - 1) if first else float("nan"),
                "orders": report.orders,
                "fills": report.fills,
                "rejections": report.rejections,
                "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in report.notes) or NO_NOTES),
                "last_session": table_preview(daily.tail(1).drop("experiment", "market")),
                # The run's window (the whole range in a ranged backfill run): headline table and equity plot.
                "tear_sheet": dg.MetadataValue.md(markdown_summary(compute_metrics(daily))),
                "equity_plot": png_markdown(equity_png(daily), "equity vs benchmark and 1/N"),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="equity_reconciles",
                    passed=report.reconciliation_error <= RECONCILE_TOLERANCE,
                    metadata={"max_relative_error": report.reconciliation_error},
                ),
                dg.AssetCheckResult(
                    check_name="no_missing_results",
                    passed=complete,
                    metadata={"sessions": len(sessions), "rows": daily.height},
                ),  # fmt: skip
            ],
        )

    return [backtest_asset]
