"""What the CLI's producing commands run: the jobs of the code location, in the local Dagster instance.

Each flow builds the ``Definitions`` for the settings (the market it needs included), prepares the instance under
``DAGSTER_HOME`` and runs the market's jobs over the partitions that cover the request, so every row the CLI writes
is a materialisation the UI shows. Work outside assets is limited to writing a delivery's files (the raw source).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from prometheus.backtest.config import BacktestConfig
from prometheus.backtest.evaluation import assessment_ic
from prometheus.backtest.experiment import (
    ExperimentConfig,
    experiment_record,
    finish_experiment,
    read_daily,
    start_experiment,
)
from prometheus.calendar import get_calendar
from prometheus.core.errors import ConfigError, DataError
from prometheus.core.settings import Settings
from prometheus.core.types import Market
from prometheus.data.ingest import delivery_dates, publish_market, write_synthetic_delivery
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig
from prometheus.engines.pipeline import ENGINE_SPECS, EngineChainConfig
from prometheus.engines.runner import upstream_history
from prometheus.meta.kronos import add_evidence, get_proposal, judge, list_proposals, sharpe
from prometheus.reporting import METRIC_NAMES, MetricsReport, write_comparison, write_tear_sheet
from prometheus.runtime.decision_log import DecisionLog
from prometheus.runtime.enums import RunStatus
from prometheus.runtime.store import RuntimeStore
from prometheus_assets.definitions import REFERENCE_JOB, Flow, build_definitions, configured_markets, job_name
from prometheus_assets.engines._common import NO_NOTES
from prometheus_assets.ingestion import REPORT_METADATA
from prometheus_assets.launch import (
    COMMAND_TAG,
    MARKET_TAG,
    RunReport,
    local_instance,
    partition_range,
    record_backfill,
    run_job,
)
from prometheus_assets.partitions import EXPERIMENT_TAG

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Launcher:
    """The definitions and instance a command runs its jobs with."""

    settings: Settings
    defs: dg.Definitions
    instance: dg.DagsterInstance
    echo: Echo

    @classmethod
    def for_market(
        cls,
        settings: Settings,
        market: Market,
        echo: Echo,
        engines: EngineChainConfig | None = None,
        backtest: BacktestConfig | None = None,
    ) -> Launcher:
        """A launcher whose code location includes ``market`` (added to the configured markets if need be)."""
        markets = configured_markets(settings).markets
        if market not in markets:
            settings = settings.model_copy(update={"markets": ",".join(m.value for m in (*markets, market))})
        defs = build_definitions(settings, engines=engines, backtest=backtest)
        return cls(settings, defs, local_instance(settings), echo)

    def run(self, market: Market, flow: str, start: date, end: date, command: str, **tags: str) -> RunReport | None:
        """Run ``flow`` of ``market`` over the partitions covering ``[start, end]`` (None when none does)."""
        job = job_name(market, flow)
        span = partition_range(self.defs.resolve_job_def(job).partitions_def, max(start, self.first_day), end)
        if span is None:
            self.echo(f"{job}: no partition between {start} and {end}; nothing to run")
            return None
        all_tags = {COMMAND_TAG: command, MARKET_TAG: market.value, **tags}
        return run_job(self.defs, self.instance, job, partitions=span, tags=all_tags, echo=self.echo)

    @property
    def first_day(self) -> date:
        """The configured history start (the first partition)."""
        return self.settings.history_start


def _check_history(settings: Settings, first: date, what: str) -> None:
    if first < settings.history_start:
        raise ConfigError(
            f"{what} starts on {first}, before the partitions start ({settings.history_start}); set "
            f"PROMETHEUS_HISTORY_START={first.replace(day=1)} or earlier",
            setting="PROMETHEUS_HISTORY_START",
        )


def ingest_vendor(settings: Settings, directory: Path, market: Market, benchmark: str | None, echo: Echo) -> None:
    """Ingest a vendor delivery through ``<market>_ingestion_job`` (its dates decide the partitions)."""
    first, last = delivery_dates(directory)
    _check_history(settings, first, f"the delivery {directory}")
    launcher = Launcher.for_market(settings, market, echo)
    publish_market(HistoricalStore.from_settings(settings), market, benchmark)
    run_config = {"ops": {f"{market.value.lower()}_vendor_ingest": {"config": {"vendor_dir": str(directory)}}}}
    job = job_name(market, Flow.INGESTION)
    span = partition_range(launcher.defs.resolve_job_def(job).partitions_def, first, last)
    if span is None:
        raise DataError(f"{directory}: no partition covers {first}..{last}", file=str(directory))
    report = run_job(launcher.defs, launcher.instance, job, partitions=span, run_config=run_config, echo=echo,
                     tags={COMMAND_TAG: "ingest vendor", MARKET_TAG: market.value})  # fmt: skip
    _echo_ingest_report(report, market, echo)


def _echo_ingest_report(report: RunReport | None, market: Market, echo: Echo) -> None:
    if report is not None:
        for line in str(report.metadata(f"{market.value.lower()}/prices_daily")[REPORT_METADATA]).splitlines():
            echo(line)


def ingest_synthetic(settings: Settings, config: SyntheticConfig, echo: Echo, market: Market = Market.US_EQ) -> None:
    """Write the synthetic delivery of ``market`` under the data root (``vendor/<market>``), then ingest it through
    the market's ingestion job."""
    _check_history(settings, config.start, "the synthetic market")
    store = HistoricalStore.from_settings(settings)
    directory = write_synthetic_delivery(store, settings.data_path, config, market)
    echo(f"synthetic delivery: {directory}")
    launcher = Launcher.for_market(settings, market, echo)
    report = launcher.run(market, Flow.INGESTION, config.start, config.end, "ingest synthetic")
    _echo_ingest_report(report, market, echo)


def ingest_reference(settings: Settings, echo: Echo) -> None:
    """The S&P 500, NASDAQ and Fama-French series shipped with arch, through the reference job (US_EQ)."""
    launcher = Launcher.for_market(settings, Market.US_EQ, echo)
    run_job(launcher.defs, launcher.instance, REFERENCE_JOB, tags={COMMAND_TAG: "ingest reference"}, echo=echo)


@dataclass(frozen=True)
class EngineLine:
    """One engine's share of a run-engines run."""

    engine: str
    config_version: str
    rows: int
    reused: bool
    notes: str
    frame: pl.DataFrame


def run_engines(
    settings: Settings,
    market: Market,
    start: date,
    end: date,
    experiment: str,
    chain: EngineChainConfig,
    echo: Echo,
) -> tuple[list[date], list[EngineLine]]:
    """The regime models of the periods covering ``[start, end]``, the engine chain over its partitions, the
    assessment models of those periods and the assessments, then the target portfolios and the scenarios.

    Returns the sessions decided (whole partitions) and one line per engine.
    """
    sessions = get_calendar().sessions(market, start, end)
    if not sessions:
        raise DataError(f"no sessions of {market.value} between {start} and {end}", field="--start/--end")
    _check_history(settings, sessions[0], "the requested range")
    launcher = Launcher.for_market(settings, market, echo, engines=chain)
    tags = {EXPERIMENT_TAG: experiment}
    launcher.run(market, Flow.REGIME_MODEL, start, end, "run-engines", **tags)
    report = launcher.run(market, Flow.ENGINES, start, end, "run-engines", **tags)
    if report is None:
        raise DataError(f"no partition of {market.value} covers {start}..{end}", field="--start/--end")
    launcher.run(market, Flow.ASSESSMENT_MODEL, start, end, "run-engines", **tags)
    scored = launcher.run(market, Flow.ASSESSMENT, start, end, "run-engines", **tags)
    book = launcher.run(market, Flow.PORTFOLIO, start, end, "run-engines", **tags)
    reports = [r for r in (report, scored, book) if r is not None]
    decided = _decided_sessions(launcher, market, start, end)
    log = DecisionLog(RuntimeStore(settings.effective_runtime_db_url))
    lines = []
    for name, spec in ENGINE_SPECS.items():
        key = f"{market.value.lower()}/{spec.output_table}"
        meta = next(r.metadata(key) for r in reports if key in r.materializations)
        # Gaps allowed: Scenarios decides its rebalance sessions only.
        found = upstream_history(log, [spec], market, experiment, decided) if meta["dagster/row_count"] else {}
        frame = found[name].frame if name in found else pl.DataFrame(schema=dict(spec.schema))
        notes = "" if meta["notes"] == NO_NOTES else str(meta["notes"])
        lines.append(EngineLine(name, str(meta["config_version"]), int(meta["dagster/row_count"]),
                                bool(meta["reused"]), notes, frame))  # fmt: skip
    return decided, lines


def _decided_sessions(launcher: Launcher, market: Market, start: date, end: date) -> list[date]:
    """The sessions of the partitions covering ``[start, end]``: what an engines run decides (whole partitions)."""
    pdef = launcher.defs.resolve_job_def(job_name(market, Flow.ENGINES)).partitions_def
    span = partition_range(pdef, start, end) if isinstance(pdef, dg.TimeWindowPartitionsDefinition) else None
    if span is None:
        raise DataError(f"no partition of {market.value} covers {start}..{end}", field="--start/--end")
    first = pdef.time_window_for_partition_key(span[0]).start.date()
    last = pdef.time_window_for_partition_key(span[1]).end.date()
    return [d for d in get_calendar().sessions(market, first, last) if d < last]


def demo_flows(
    settings: Settings,
    synthetic: SyntheticConfig,
    echo: Echo,
    markets: Sequence[Market] = (Market.US_EQ,),
    news_months: int = 12,
) -> Launcher:
    """The embedded default through Dagster: trading sessions, the synthetic delivery, the reference series, the
    numeric encoder per period, embeddings and profiles, and news embeddings of the last ``news_months`` months.
    Returns the launcher used."""
    _check_history(settings, synthetic.start, "the synthetic market")
    directory = write_synthetic_delivery(HistoricalStore.from_settings(settings), settings.data_path, synthetic)
    echo(f"synthetic delivery: {directory}")
    launcher = Launcher.for_market(settings, Market.US_EQ, echo)
    for market in markets:
        launcher.run(market, Flow.TRADING_SESSIONS, synthetic.start, synthetic.end, "demo")
    _echo_ingest_report(launcher.run(Market.US_EQ, Flow.INGESTION, synthetic.start, synthetic.end, "demo"),
                        Market.US_EQ, echo)  # fmt: skip
    run_job(launcher.defs, launcher.instance, REFERENCE_JOB, tags={COMMAND_TAG: "demo"}, echo=echo)
    launcher.run(Market.US_EQ, Flow.ENCODER_MODEL, synthetic.start, synthetic.end, "demo")
    launcher.run(Market.US_EQ, Flow.ENCODERS, synthetic.start, synthetic.end, "demo")
    if news_months > 0:
        months = synthetic.end.year * 12 + synthetic.end.month - 1 - (news_months - 1)  # the last n months
        first = date(months // 12, months % 12 + 1, 1)
        launcher.run(Market.US_EQ, Flow.NEWS, max(first, synthetic.start), synthetic.end, "demo")
    return launcher


#: The jobs of a backtest, in order: models are trained per period before the daily assets that use them.
BACKTEST_STAGES: tuple[str, ...] = (
    Flow.REGIME_MODEL, Flow.ENGINES, Flow.ASSESSMENT_MODEL, Flow.ASSESSMENT, Flow.PORTFOLIO, Flow.BACKTEST,
    Flow.OUTCOMES,
)  # fmt: skip


@dataclass(frozen=True)
class BacktestOutcome:
    """What ``prometheus backtest`` reports at the end."""

    experiment: str
    market: Market
    sessions: list[date]
    daily: pl.DataFrame
    metrics: Mapping[str, float]
    report: Path
    seconds: float
    #: engine name -> True when its outputs were reused from an earlier run with the same config versions
    reused: Mapping[str, bool]
    #: model asset name -> (models kept from an earlier fit on the same data, models of the range)
    models_reused: Mapping[str, tuple[int, int]] = field(default_factory=dict)


def report_path(settings: Settings, experiment: str, market: Market) -> Path:
    """``<data root>/reports/<experiment>/<market>.html`` (the experiment name made file-safe)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in experiment)
    return settings.data_path / "reports" / safe / f"{market.value.lower()}.html"


def backtest(
    settings: Settings,
    market: Market,
    start: date,
    end: date,
    experiment: str,
    config: ExperimentConfig,
    echo: Echo,
    description: str = "",
) -> BacktestOutcome:
    """The whole chain over the partitions covering ``[start, end]`` as Dagster runs tagged with the experiment:
    models, engines, assessment, portfolio and scenarios, then the simulated execution; then the tear sheet.

    Raises
    ------
    ConfigError
        The experiment exists with other configs.
    RunFailed
        A run failed (the experiment is recorded as FAILED).
    """
    t0 = time.perf_counter()
    sessions = get_calendar().sessions(market, start, end)
    if not sessions:
        raise DataError(f"no sessions of {market.value} between {start} and {end}", field="--start/--end")
    _check_history(settings, sessions[0], "the requested range")
    # Partitions are whole months: a range ending on a holiday (2017-01-01) must not pull in the month after it.
    start, end = sessions[0], sessions[-1]
    runtime = RuntimeStore(settings.effective_runtime_db_url)
    runtime.upgrade()
    launcher = Launcher.for_market(settings, market, echo, engines=config.chain, backtest=config.backtest)
    decided = _decided_sessions(launcher, market, start, end)
    start_experiment(runtime, experiment, market, config, decided[0], decided[-1], description)
    tags = {EXPERIMENT_TAG: experiment}
    reports: list[RunReport] = []
    # The seven runs are recorded as one backfill of the instance, tagged with the experiment (docs/backtest.md).
    backfill_tags = {COMMAND_TAG: "backtest", MARKET_TAG: market.value, **tags}
    try:
        with record_backfill(launcher.instance, launcher.defs, tags=backfill_tags, title=f"backtest {experiment}",
                             description=f"{market.value} {start}..{end}") as linked:  # fmt: skip
            for i, flow in enumerate(BACKTEST_STAGES):
                elapsed = time.perf_counter() - t0
                echo(f"stage {i + 1}/{len(BACKTEST_STAGES)} {flow}: {elapsed:.0f}s elapsed"
                     + (f", about {elapsed / i * (len(BACKTEST_STAGES) - i):.0f}s to go" if i else ""))  # fmt: skip
                report = launcher.run(market, flow, start, end, "backtest", **tags, **linked)
                if report is not None:
                    reports.append(report)
        daily = read_daily(runtime, experiment, market, decided[0], decided[-1])
        ic = assessment_ic(DecisionLog(runtime), HistoricalStore.from_settings(settings), get_calendar(), market,
                           experiment, decided, config.assessment.horizon,
                           timedelta(seconds=settings.bar_delay_seconds))  # fmt: skip
        path = report_path(settings, experiment, market)
        path.parent.mkdir(parents=True, exist_ok=True)
        sheet = write_tear_sheet(daily, path, title=f"{experiment}: {market.value} {decided[0]}..{decided[-1]}",
                                 ic=ic, config_versions=config.versions())  # fmt: skip
    except BaseException:  # a failed run, a failed report or an interrupt: the experiment did not finish
        finish_experiment(runtime, experiment, RunStatus.FAILED)
        raise
    metrics = headline(sheet.metrics)
    finish_experiment(runtime, experiment, RunStatus.SUCCEEDED, metrics)
    reused = {}
    for name, spec in ENGINE_SPECS.items():
        key = f"{market.value.lower()}/{spec.output_table}"
        found = [r.metadata(key) for r in reports if key in r.materializations]
        if found:
            reused[name] = bool(found[-1].get("reused", False))
    models: dict[str, tuple[int, int]] = {}
    for name in ("regime_model", "assessment_model"):
        key = f"{market.value.lower()}/{name}"
        found = [r.metadata(key) for r in reports if key in r.materializations]
        if found:
            models[name] = (int(found[-1].get("reused", 0)), int(found[-1].get("models", 0)))
    return BacktestOutcome(experiment, market, decided, daily, metrics, path, time.perf_counter() - t0, reused,
                           models)  # fmt: skip


def headline(metrics: MetricsReport) -> dict[str, float]:
    """Strategy, benchmark and 1/N headline figures as one flat mapping (``strategy.sharpe`` ...), finite only."""
    out: dict[str, float] = {}
    for row in metrics.headline.iter_rows(named=True):
        for name in METRIC_NAMES:
            value = row.get(name)
            if isinstance(value, int | float) and math.isfinite(value):
                out[f"{row['series']}.{name}"] = float(value)
    return out


def compare_experiments(settings: Settings, a: str, b: str, market: Market) -> Path:
    """The comparison report of two recorded experiments on ``market``; returns its path.

    Raises
    ------
    ConfigError
        An experiment is not recorded, or has no results on ``market``.
    """
    runtime = RuntimeStore(settings.effective_runtime_db_url)
    frames = []
    for name in (a, b):
        record = experiment_record(runtime, name)
        if record is None:
            raise ConfigError(f"no experiment {name!r} is recorded (prometheus backtest --list)", setting="--compare")
        frame = read_daily(runtime, name, market, record.first_session, record.last_session)
        if frame.is_empty():
            raise ConfigError(f"experiment {name!r} has no results on {market.value}", setting="--compare")
        frames.append(frame)
    path = settings.data_path / "reports" / "compare" / f"{report_path(settings, a, market).parent.name}__" \
        f"{report_path(settings, b, market).parent.name}_{market.value.lower()}.html"  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    write_comparison(frames[0], frames[1], path, names=(a, b))
    return path


def evaluate_proposal(
    settings: Settings,
    store: RuntimeStore,
    proposal_id: int,
    market: Market,
    start: date,
    end: date,
    current: ExperimentConfig,
    echo: Echo,
) -> dict[str, Any]:
    """A Kronos proposal's hold-out: the current configs and the proposed ones backtested over ``[start, end]`` as
    two experiments (``kronos-<id>-current`` / ``-proposed``), judged with the deflated Sharpe ratio over every
    configuration evaluated so far (this one included); the verdict is added to the proposal's evidence."""
    found = get_proposal(store, proposal_id)
    proposed = current.model_copy(update={"portfolio": type(current.portfolio).from_mapping(
        found["evidence"]["proposed_config"], source=f"proposal {proposal_id}")})  # fmt: skip
    names = {"current": f"kronos-{proposal_id}-current", "proposed": f"kronos-{proposal_id}-proposed"}
    returns = {}
    for role, cfg in (("current", current), ("proposed", proposed)):
        out = backtest(settings, market, start, end, names[role], cfg, echo,
                       f"Kronos hold-out of proposal {proposal_id} ({role})")  # fmt: skip
        returns[role] = read_daily(store, names[role], market, out.sessions[0], out.sessions[-1])["daily_return"]
    evaluated = [
        e for e in (get_proposal(store, p["id"])["evidence"] for p in list_proposals(store)) if e.get("holdout")
    ]
    trial_sharpes = [e["holdout"].get("sharpe_proposed") or 0.0 for e in evaluated]
    verdict = judge(returns["current"].to_numpy(), returns["proposed"].to_numpy(), n_trials=len(evaluated) + 1,
                    trial_sharpes=[*trial_sharpes, sharpe(returns["proposed"].to_numpy())])  # fmt: skip
    verdict |= {"experiments": names, "start": start.isoformat(), "end": end.isoformat(), "market": market.value}
    add_evidence(store, proposal_id, "holdout", verdict)
    return verdict
