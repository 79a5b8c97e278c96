"""``<market>/decision_outcomes``: the realised outcome of every engine decision of the partition after each
horizon (``prometheus.meta.outcomes``), under the run's experiment.

A decision whose horizon runs past the data known now has no outcome yet; re-materialising the partition later
adds it (rows are upserted by decision and horizon). No ``from __future__ import annotations`` here: Dagster
inspects the context annotation at definition time.
"""

from collections.abc import Sequence
from datetime import timedelta

import dagster as dg
import polars as pl

from prometheus.backtest.config import BacktestConfig
from prometheus.backtest.execution_quality import order_costs
from prometheus.calendar import TradingCalendar
from prometheus.core.time import utc_now
from prometheus.core.types import Market, Mode
from prometheus.data.known_at import decision_times
from prometheus.data.schema import Table
from prometheus.data.timemachine import TimeMachine
from prometheus.engines.pipeline import ENGINE_SPECS
from prometheus.meta import DEFAULT_HORIZONS, OUTCOME_ENGINES, outcomes_for_sessions, write_outcomes
from prometheus.meta.execution_outcomes import execution_outcomes
from prometheus_assets.backtest import BACKTEST_ASSET
from prometheus_assets.engines._common import bar_delay, decision_log, experiment_of
from prometheus_assets.ingestion import table_dep
from prometheus_assets.metadata import table_preview
from prometheus_assets.partitions import MarketScope, sessions_in_window
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource

#: Asset name (and runtime table) of the outcomes.
OUTCOMES_ASSET = "decision_outcomes"


def build_outcome_assets(
    scope: MarketScope, horizons: Sequence[int] = DEFAULT_HORIZONS, backtest: BacktestConfig | None = None
) -> list[dg.AssetsDefinition]:
    """The outcomes asset of ``scope.market`` with its check; in BACKTEST also the execution outcomes of the
    simulated orders, priced with ``backtest``'s cost model (the backtest asset's config, default the defaults)."""
    market, key = scope.market, scope.key(OUTCOMES_ASSET)
    simulated = scope.mode is Mode.BACKTEST
    costs_config = backtest or BacktestConfig()
    deps = [
        *(scope.key(ENGINE_SPECS[name].output_table) for name in OUTCOME_ENGINES),
        *([scope.key(BACKTEST_ASSET)] if simulated else []),
        *(k for k in (table_dep(market, t) for t in (Table.INSTRUMENTS, Table.PRICES_ADJUSTED)) if k is not None),
    ]
    check = dg.AssetCheckSpec(
        "known_after_horizon", asset=key,
        description="every outcome is known no earlier than the decision time of its session t + H",
    )  # fmt: skip

    @dg.asset(
        key=key,
        deps=deps,
        partitions_def=scope.partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[check],
        group_name=scope.prefix,
        tags=scope.tags("meta"),
        kinds={"python", "sql"},
        owners=["team:research"],
        description=f"Realised outcome of every engine decision of {market.value} after "
        f"{', '.join(map(str, horizons))} sessions: regime vs realised vol, stability vs tail moves, fragility "
        "and assessment rank correlations, portfolio P&L and its attribution; in BACKTEST, expected vs realised "
        "execution cost of the orders.",
    )  # fmt: skip
    def outcomes_asset(
        context: dg.AssetExecutionContext,
        historical: HistoricalStoreResource,
        runtime: RuntimeStoreResource,
        calendar: CalendarResource,
    ) -> dg.MaterializeResult:
        sessions = sessions_in_window(market, context.partition_time_window)
        cal, delay, log = calendar.calendar(), bar_delay(), decision_log(runtime)
        view = TimeMachine(historical.store(), utc_now())
        experiment = experiment_of(context, scope.mode)
        frame = outcomes_for_sessions(log, view, cal, market, experiment, sessions, bar_delay=delay,
                                      horizons=horizons)  # fmt: skip
        if simulated and sessions:  # expected vs realised cost of the orders these sessions decided
            costs = order_costs(runtime.store(), historical.store(), cal, market, experiment, costs_config, delay,
                                decided=(sessions[0], sessions[-1]))  # fmt: skip
            done = execution_outcomes(costs, cal, market, experiment, costs_config.config_version, delay)
            frame = pl.concat([frame, done.filter(pl.col("known_at") <= view.as_of)])
        written = write_outcomes(runtime.store(), frame)
        horizon_end = _horizon_times(cal, market, frame, delay)
        early = int((frame["known_at"] < horizon_end).sum()) if frame.height else 0
        summary = (
            frame.group_by("engine", "horizon_sessions")
            .agg(pl.len().alias("outcomes"), pl.col("outcome").filter(pl.col("outcome").is_finite()).mean()
                 .alias("mean_outcome"))
            .sort("engine", "horizon_sessions")
        )  # fmt: skip
        return dg.MaterializeResult(
            metadata={"sessions": len(sessions), "dagster/row_count": written, "by_engine": table_preview(summary)},
            check_results=[dg.AssetCheckResult(check_name=check.name, passed=early == 0, metadata={"early": early})],
        )

    return [outcomes_asset]


def _horizon_times(cal: TradingCalendar, market: Market, frame: pl.DataFrame, delay: timedelta) -> pl.Series:
    """The decision time of session t + H of each row (what the check compares ``known_at`` with)."""
    if frame.is_empty():
        return pl.Series("t", [], dtype=frame.schema["known_at"])
    # Two calendar days per session of the longest horizon, plus holidays, reach past every t + H.
    reach = timedelta(days=2 * int(frame["horizon_sessions"].max()) + 10)
    days = cal.sessions(market, frame["session"].min(), frame["session"].max() + reach)
    times, pos = decision_times(cal, market, days, delay), {d: i for i, d in enumerate(days)}
    pairs = zip(frame["session"].to_list(), frame["horizon_sessions"].to_list(), strict=True)
    return pl.Series("t", [times[pos[s] + h] for s, h in pairs], dtype=frame.schema["known_at"])
