"""What every engine asset shares: the bar delay, the experiment of a run, the decision log, run metadata."""

from datetime import timedelta

import dagster as dg

from prometheus.core.settings import load_settings
from prometheus.core.types import Mode
from prometheus.engines.runner import EngineRunSummary
from prometheus.execution.live import LIVE_EXPERIMENT
from prometheus.runtime.decision_log import DecisionLog
from prometheus_assets.partitions import EXPERIMENT_TAG
from prometheus_resources.stores import RuntimeStoreResource

#: The notes metadata of a run without degradation notes.
NO_NOTES = "none"


def bar_delay() -> timedelta:
    """The configured delay after the close until a daily bar is known."""
    return timedelta(seconds=load_settings().bar_delay_seconds)


def max_lag() -> int:
    """Sessions an engine's newest input bar may lag the session it decides (``PROMETHEUS_MAX_DATA_LAG_SESSIONS``)."""
    return load_settings().max_data_lag_sessions


def experiment_of(context: dg.AssetExecutionContext, mode: Mode) -> str:
    """The run's experiment tag; untagged runs are 'backtest' in BACKTEST and 'live' in PAPER/LIVE."""
    return context.run.tags.get(EXPERIMENT_TAG, "backtest" if mode is Mode.BACKTEST else LIVE_EXPERIMENT)


def decision_log(runtime: RuntimeStoreResource) -> DecisionLog:
    """The decision log over the runtime store (migrated once per process by the resource)."""
    return DecisionLog(runtime.store())


def run_metadata(context: dg.AssetExecutionContext, summary: EngineRunSummary) -> dict[str, object]:
    """Counts of an engine run as metadata; degradation notes also go to the run log as warnings."""
    for note in summary.notes:
        context.log.warning(note)
    return {
        "sessions": summary.sessions,
        "dagster/row_count": summary.rows,
        "reused": summary.reused,
        "config_version": summary.config_version,
        "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in summary.notes) or NO_NOTES),
    }
