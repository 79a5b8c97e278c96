"""``<market>/fragility_scores``: crowding per instrument and cluster per session, after regime and stability.

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

from datetime import timedelta

import dagster as dg

from prometheus.core.settings import load_settings
from prometheus.core.types import Market, Mode
from prometheus.engines.fragility import FragilityConfig, FragilityEngine, fragility_plot_png, run_fragility
from prometheus.engines.stability import load_panel_history
from prometheus.runtime.decision_log import DecisionLog
from prometheus_assets.engines.stability import png_markdown
from prometheus_assets.partitions import EXPERIMENT_TAG, partitions_for, sessions_in_window
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource


def _bar_delay() -> timedelta:
    return timedelta(seconds=load_settings().bar_delay_seconds)


def build_fragility_assets(
    market: Market, mode: Mode, config: FragilityConfig | None = None
) -> list[dg.AssetsDefinition]:
    """The fragility scores of ``market``, partitioned by ``partitions_for(market, mode)``."""
    cfg = config or FragilityConfig()
    prefix = market.value.lower()

    @dg.asset(
        key=[prefix, "fragility_scores"],
        deps=[dg.AssetKey([prefix, "regime_states"]), dg.AssetKey([prefix, "stability_scores"])],
        partitions_def=partitions_for(market, mode),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="fragility", kinds={"python", "sql"}, owners=["team:research"], code_version="1",
        description=f"Point-in-time residual clusters of {market.value}: crowding per cluster and a fragility "
        "penalty per instrument, with the flagged clusters.",
    )  # fmt: skip
    def fragility_scores(
        context: dg.AssetExecutionContext,
        historical: HistoricalStoreResource,
        runtime: RuntimeStoreResource,
        calendar: CalendarResource,
    ) -> dg.MaterializeResult:
        sessions = sessions_in_window(market, context.partition_time_window)
        if not sessions:
            return dg.MaterializeResult(metadata={"sessions": 0})
        cal, delay = calendar.calendar(), _bar_delay()
        experiment = context.run.tags.get(EXPERIMENT_TAG, "live" if mode is not Mode.BACKTEST else "backtest")
        lookback = FragilityEngine(cfg).lookback_sessions
        view = load_panel_history(historical.store(), cal, market, sessions, lookback, delay)
        db = runtime.store()
        db.upgrade()
        out, summary = run_fragility(view, cal, market, sessions, experiment, cfg, bar_delay=delay,
                                     log=DecisionLog(db), mode=mode.value)  # fmt: skip
        for note in summary.notes:
            context.log.warning(note)
        flagged = out.frame.filter(out.frame["instrument"].str.starts_with("cluster:"))
        flagged = flagged.filter(flagged["components"].struct.field("flagged") == 1.0)
        return dg.MaterializeResult(metadata={
            "sessions": summary.sessions, "rows": summary.rows, "reused": summary.reused,
            "config_version": summary.config_version, "flagged_cluster_sessions": flagged.height,
            "notes": "\n".join(summary.notes),
            "plot": png_markdown(fragility_plot_png(out.frame, f"{market.value} fragility"), "fragility"),
        })  # fmt: skip

    return [fragility_scores]
