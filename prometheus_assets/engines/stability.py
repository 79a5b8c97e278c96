"""``<market>/stability_scores``: market and sector stability per session, after the regime states.

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

import base64
from datetime import timedelta

import dagster as dg

from prometheus.core.settings import load_settings
from prometheus.core.types import Market, Mode
from prometheus.engines.stability import (
    StabilityConfig,
    StabilityEngine,
    load_panel_history,
    run_stability,
    stability_plot_png,
)
from prometheus.runtime.decision_log import DecisionLog
from prometheus_assets.partitions import EXPERIMENT_TAG, partitions_for, sessions_in_window
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource


def _bar_delay() -> timedelta:
    return timedelta(seconds=load_settings().bar_delay_seconds)


def png_markdown(png: bytes, alt: str) -> dg.MetadataValue:
    """A PNG as inline markdown metadata."""
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})")


def build_stability_assets(
    market: Market, mode: Mode, config: StabilityConfig | None = None
) -> list[dg.AssetsDefinition]:
    """The stability scores of ``market``, partitioned by ``partitions_for(market, mode)``."""
    cfg = config or StabilityConfig()
    prefix = market.value.lower()

    @dg.asset(
        key=[prefix, "stability_scores"],
        deps=[dg.AssetKey([prefix, "prices_adjusted"]), dg.AssetKey([prefix, "regime_states"])],
        partitions_def=partitions_for(market, mode),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="stability", kinds={"python", "sql"}, owners=["team:research"], code_version="1",
        description=f"Absorption ratio, Delta AR, turbulence and average correlation of {market.value} and its "
        "sectors per session, with a stability score (1 = stable).",
    )  # fmt: skip
    def stability_scores(
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
        lookback = StabilityEngine(cfg).lookback_sessions
        view = load_panel_history(historical.store(), cal, market, sessions, lookback, delay)
        db = runtime.store()
        db.upgrade()
        out, summary = run_stability(view, cal, market, sessions, experiment, cfg, bar_delay=delay,
                                     log=DecisionLog(db), mode=mode.value)  # fmt: skip
        for note in summary.notes:
            context.log.warning(note)
        return dg.MaterializeResult(metadata={
            "sessions": summary.sessions, "rows": summary.rows, "reused": summary.reused,
            "config_version": summary.config_version, "notes": "\n".join(summary.notes),
            "plot": png_markdown(stability_plot_png(out.frame, f"{market.value} stability"), "stability"),
        })  # fmt: skip

    return [stability_scores]
