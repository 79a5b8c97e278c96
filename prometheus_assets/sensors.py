"""Sensors and schedules: one market-state sensor per market, the fallback schedule, freshness checks, alerts.

Thin on purpose: :class:`~prometheus.orchestration.MarketWatch` decides what a tick runs, ``prometheus.orchestration``
records market states and raises alerts; this module turns those decisions into Dagster run requests.

- ``<m>_market_state_sensor``: on POST_CLOSE the session's daily cycle (``<m>_daily_cycle_job``, the market's
  session-partitioned assets, run key ``<MARKET>|<session>``), first the models of the session's period that are
  not materialised yet (``<m>_<model>_job``, run key ``<MARKET>|<period>|<model>``; the cycle is held in the
  cursor and asked for on the tick that finds them materialised); on PRE_OPEN the pre-open QC
  (``<m>_pre_open_job``: freshness checks, PAPER/LIVE) and, where an order job is configured, the orders for the
  open (``<m>_submit_orders_job``).
- ``<m>_daily_cycle_fallback_schedule``: after the POST_CLOSE window, the same cycle if no run carries its tag.
- ``<m>_freshness_checks_sensor`` (PAPER/LIVE): evaluates the time-partition freshness checks.
- ``alerts_run_failure_sensor``, ``alerts_check_sensor``, ``alerts_kill_switch_sensor``: alerts.

Everything starts RUNNING in PAPER/LIVE and STOPPED in BACKTEST (history is replayed by backtests, not watched).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

import dagster as dg
from dagster import DagsterEventType, EventLogEntry
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluation
from dagster._utils.error import SerializableErrorInfo

from prometheus.calendar import TradingCalendar, get_calendar
from prometheus.core.errors import ConfigError
from prometheus.core.settings import Settings
from prometheus.core.time import utc_now
from prometheus.core.types import Market, Mode
from prometheus.orchestration import (
    Alerter,
    CheckEvaluation,
    Clock,
    CycleKind,
    CycleRequest,
    MarketWatch,
    ModelKind,
    ModelPeriod,
    ModelRequest,
    NewAlert,
    WatchCursor,
    check_alert,
    check_webhook_url,
    cycle_key,
    fallback_cron,
    kill_switch_alerts,
    missed_cycle_alerts,
    pending_cycle,
    plan_cycle,
    record_transitions,
    run_failure_alert,
)
from prometheus_assets.backtest import BACKTEST_ASSET
from prometheus_assets.launch import MARKET_TAG
from prometheus_assets.partitions import MarketScope
from prometheus_resources.stores import RuntimeStoreResource

#: Run tag naming the daily cycle a run belongs to (``US_EQ|2024-03-05``); the fallback schedule looks for it.
CYCLE_TAG = "prometheus/cycle"
#: Run tag with the session a cycle run is for (on a model run: the session whose cycle asked for it).
SESSION_TAG = "prometheus/session"
#: Run tag with the period partition a model run is for.
PERIOD_TAG = "prometheus/period"
#: Flows of the orchestration (``<m>_<flow>_job``); the order job is defined in ``prometheus_assets/execution.py``.
DAILY_CYCLE_FLOW, PRE_OPEN_FLOW, ORDER_FLOW = "daily_cycle", "pre_open", "submit_orders"
#: The asset the order job materialises (PAPER / LIVE): session-partitioned, but not part of the daily cycle.
ORDER_ASSET = "order_submissions"
#: The fallback schedule fires this long after the market's usual close (after the POST_CLOSE window).
FALLBACK_DELAY = timedelta(hours=2)
#: The session's partition of every daily asset must be materialised this long after the usual close.
FRESHNESS_DELAY = timedelta(hours=4)
#: How often the market sensors tick (transition instants come from the calendar, so this only bounds latency).
SENSOR_INTERVAL_S = 60


def default_sensor_status(mode: Mode) -> dg.DefaultSensorStatus:
    """RUNNING in PAPER/LIVE, STOPPED in BACKTEST."""
    return dg.DefaultSensorStatus.STOPPED if mode is Mode.BACKTEST else dg.DefaultSensorStatus.RUNNING


def default_schedule_status(mode: Mode) -> dg.DefaultScheduleStatus:
    """RUNNING in PAPER/LIVE, STOPPED in BACKTEST."""
    return dg.DefaultScheduleStatus.STOPPED if mode is Mode.BACKTEST else dg.DefaultScheduleStatus.RUNNING


def flow_job_name(scope: MarketScope, flow: str) -> str:
    """``<m>_<flow>_job`` (as ``prometheus_assets.definitions.job_name``)."""
    return f"{scope.prefix}_{flow}_job"


@dataclass(frozen=True)
class MarketOrchestration:
    """What one market adds to the code location."""

    jobs: list[dg.UnresolvedAssetJobDefinition] = field(default_factory=list)
    sensors: list[dg.SensorDefinition] = field(default_factory=list)
    schedules: list[dg.ScheduleDefinition] = field(default_factory=list)
    checks: list[dg.AssetChecksDefinition] = field(default_factory=list)


def daily_cycle_keys(scope: MarketScope, market_assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    """The market's assets on its time partitions (one session each in PAPER/LIVE), in their build order.

    The backtest asset (the market simulator) belongs to BACKTEST only: in PAPER/LIVE the orders go to the broker,
    at the next PRE_OPEN (the order asset, its own job). Model assets (partitioned by period) are not in it: Dagster
    runs one partitions definition per job.
    """
    keys = [k for a in market_assets if a.partitions_def == scope.partitions for k in a.keys]
    if scope.mode is not Mode.BACKTEST:
        keys = [k for k in keys if k not in (scope.key(BACKTEST_ASSET), scope.key(ORDER_ASSET))]
    return keys


def session_partition_key(
    scope: MarketScope, session: date, partitions: dg.TimeWindowPartitionsDefinition | None = None
) -> str:
    """The partition of ``partitions`` (default: the market's time partitions) holding ``session`` (in PAPER/LIVE
    the session itself, its month in BACKTEST; its period for a model's partitions)."""
    midnight = datetime.combine(session, time(0), tzinfo=get_calendar().tz(scope.market))
    return (partitions or scope.partitions).get_partition_key_for_timestamp(midnight.timestamp())


@dataclass(frozen=True)
class CycleModel:
    """A period-partitioned model the daily cycle reads: its job, its asset, its period partitions and its inputs
    among the daily cycle's assets (which it reads up to the last session before its period)."""

    kind: ModelKind
    job: dg.UnresolvedAssetJobDefinition | dg.JobDefinition
    key: dg.AssetKey
    periods: dg.TimeWindowPartitionsDefinition
    inputs: tuple[dg.AssetKey, ...]


def model_jobs_for(
    scope: MarketScope, jobs: Sequence[dg.UnresolvedAssetJobDefinition]
) -> list[dg.UnresolvedAssetJobDefinition]:
    """The market's model jobs (``<m>_encoder_model_job``, ``<m>_regime_model_job``, ``<m>_assessment_model_job``)
    among ``jobs``, in :data:`~prometheus.orchestration.MODEL_ORDER`."""
    by_name = {j.name: j for j in jobs}
    return [by_name[n] for n in (flow_job_name(scope, k.value) for k in ModelKind) if n in by_name]


def cycle_models(
    scope: MarketScope,
    market_assets: Sequence[dg.AssetsDefinition],
    model_jobs: Sequence[dg.UnresolvedAssetJobDefinition | dg.JobDefinition],
) -> list[CycleModel]:
    """The models of ``model_jobs`` with their assets among ``market_assets`` (asset name = model = flow name).

    Raises
    ------
    ConfigError
        A model job whose model asset is not among the market's assets, or is not time-partitioned by period.
    """
    partitions = {k: a.partitions_def for a in market_assets for k in a.keys}
    deps = {k: a.dependency_keys for a in market_assets for k in a.keys}
    daily = set(daily_cycle_keys(scope, market_assets))
    out = []
    for job in model_jobs:
        kind = next((k for k in ModelKind if job.name == flow_job_name(scope, k.value)), None)
        periods = partitions.get(scope.key(kind.value)) if kind is not None else None
        if kind is None or not isinstance(periods, dg.TimeWindowPartitionsDefinition):
            raise ConfigError(f"{job.name} is not the job of a period-partitioned model of {scope.market.value}",
                              setting="model_jobs")  # fmt: skip
        inputs = tuple(sorted(k for k in deps[scope.key(kind.value)] if k in daily))
        out.append(CycleModel(kind, job, scope.key(kind.value), periods, inputs))
    return out


def _cycle_tags(scope: MarketScope, request: CycleRequest) -> dict[str, str]:
    return {MARKET_TAG: scope.market.value, CYCLE_TAG: cycle_key(scope.market, request.session),
            SESSION_TAG: request.session.isoformat()}  # fmt: skip


def build_market_orchestration(
    scope: MarketScope,
    market_assets: Sequence[dg.AssetsDefinition],
    settings: Settings,
    *,
    clock: Clock = utc_now,
    order_job: dg.UnresolvedAssetJobDefinition | dg.JobDefinition | None = None,
    model_jobs: Sequence[dg.UnresolvedAssetJobDefinition | dg.JobDefinition] = (),
) -> MarketOrchestration:
    """The daily-cycle and pre-open jobs, the market-state sensor, the fallback schedule and, in PAPER/LIVE, the
    freshness checks of ``scope.market``.

    ``clock`` is what the sensor takes as now (tests walk a day through it); ``order_job`` is the job that sends
    the orders for the open (from the execution service), requested at PRE_OPEN when given; ``model_jobs`` (see
    :func:`model_jobs_for`) are the jobs of the period models the cycle reads, requested at POST_CLOSE before the
    cycle for a period without them.

    Raises
    ------
    ConfigError
        One of ``model_jobs`` is not the job of a period-partitioned model of the market.
    """
    calendar = get_calendar(settings.pre_open_minutes, settings.post_close_minutes)
    keys = daily_cycle_keys(scope, market_assets)
    out = MarketOrchestration()
    pre_open: dg.UnresolvedAssetJobDefinition | None = None
    if scope.mode is not Mode.BACKTEST:
        # Freshness against the wall clock means nothing for history replayed by a backtest.
        around = clock().astimezone(calendar.tz(scope.market)).date()
        # Partition-aware freshness checks (the session's partition is there by the deadline) rather than 1.13's
        # FreshnessPolicy, which judges an asset by its latest materialisation whatever the partition, and is not
        # an asset check the pre-open job can run. Dagster marks the checks "superseded", hence the filter.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.SupersessionWarning)
            out.checks.extend(dg.build_time_partition_freshness_checks(
                assets=keys, deadline_cron=fallback_cron(calendar, scope.market, FRESHNESS_DELAY, around),
                timezone=str(calendar.tz(scope.market)), severity=dg.AssetCheckSeverity.ERROR,
            ))  # fmt: skip
    # The freshness checks are the pre-open job's: run with the cycle they would only judge the wall clock (and cost
    # seconds per run); the assets' own checks (QC, engine outputs) stay with the cycle.
    daily = dg.define_asset_job(
        flow_job_name(scope, DAILY_CYCLE_FLOW),
        selection=dg.AssetSelection.assets(*keys) - dg.AssetSelection.checks(*out.checks),
        description=f"The daily cycle of {scope.market.value} for one session: ingest, encoders, engines, "
        "portfolio, outcomes (asked for by the market-state sensor at POST_CLOSE).",
        tags={MARKET_TAG: scope.market.value, "prometheus/flow": DAILY_CYCLE_FLOW},
    )
    out.jobs.append(daily)
    if scope.mode is not Mode.BACKTEST:
        pre_open = dg.define_asset_job(
            flow_job_name(scope, PRE_OPEN_FLOW),
            selection=dg.AssetSelection.checks(*out.checks),
            description=f"Pre-open QC of {scope.market.value}: the freshness checks of the daily assets.",
            tags={MARKET_TAG: scope.market.value, "prometheus/flow": PRE_OPEN_FLOW},
        )
        out.jobs.append(pre_open)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.SupersessionWarning)
            out.sensors.append(dg.build_sensor_for_freshness_checks(
                freshness_checks=out.checks, name=f"{scope.prefix}_freshness_checks_sensor",
                default_status=default_sensor_status(scope.mode),
            ))  # fmt: skip
    models = cycle_models(scope, market_assets, model_jobs)
    out.sensors.append(
        _market_state_sensor(scope, calendar, settings, clock, (daily, pre_open, order_job), models)  # fmt: skip
    )
    out.schedules.append(_fallback_schedule(scope, calendar, daily, clock))
    return out


def _market_state_sensor(
    scope: MarketScope,
    calendar: TradingCalendar,
    settings: Settings,
    clock: Clock,
    jobs: tuple[
        dg.UnresolvedAssetJobDefinition,
        dg.UnresolvedAssetJobDefinition | None,
        dg.UnresolvedAssetJobDefinition | dg.JobDefinition | None,
    ],
    models: Sequence[CycleModel],
) -> dg.SensorDefinition:
    watch = MarketWatch(calendar, scope.market)
    daily, pre_open, order_job = jobs
    targets = [j for j in (daily, pre_open, order_job) if j is not None] + [m.job for m in models]
    job_of = {m.kind: m.job.name for m in models}

    def model_period(instance: dg.DagsterInstance, model: CycleModel, session: date) -> ModelPeriod:
        period = session_partition_key(scope, session, model.periods)
        if period in instance.get_materialized_partitions(model.key):
            return ModelPeriod(model.kind, period, materialised=True)
        # A model trains on what is known before its period: the cycle of the last session before it built that.
        start = model.periods.time_window_for_partition_key(period).start.date()
        before = calendar.sessions_before(scope.market, start, 1)
        last = session_partition_key(scope, before[-1]) if before else None
        ready = last is None or all(last in instance.get_materialized_partitions(k) for k in model.inputs)
        return ModelPeriod(model.kind, period, materialised=False, inputs_ready=ready)

    def cycle_requests(instance: dg.DagsterInstance, request: CycleRequest) -> tuple[list[dg.RunRequest], bool]:
        # The models of the session's period first (one run each, stable keys); the cycle once all are there.
        plan = plan_cycle(request, [model_period(instance, m, request.session) for m in models])
        if plan.ready:
            return run_requests(request), True
        return [model_request(request, m) for m in plan.models], False

    def model_request(cycle: CycleRequest, model: ModelRequest) -> dg.RunRequest:
        tags = {MARKET_TAG: scope.market.value, SESSION_TAG: cycle.session.isoformat(), PERIOD_TAG: model.period}
        return dg.RunRequest(run_key=model.run_key, job_name=job_of[model.model], tags=tags,
                             partition_key=model.period)  # fmt: skip

    def run_requests(request: CycleRequest) -> list[dg.RunRequest]:
        tags = _cycle_tags(scope, request)
        if request.kind is CycleKind.DAILY_CYCLE:
            return [dg.RunRequest(run_key=request.run_key, job_name=daily.name, tags=tags,
                                  partition_key=session_partition_key(scope, request.session))]  # fmt: skip
        out = [] if pre_open is None else [dg.RunRequest(run_key=request.run_key, job_name=pre_open.name, tags=tags)]
        if order_job is not None:
            # The orders for this open execute the targets decided at the close of the session before it.
            decided = calendar.previous_session(scope.market, request.session)
            key = f"{cycle_key(scope.market, request.session)}|{ORDER_FLOW}"
            out.append(dg.RunRequest(run_key=key, job_name=order_job.name, tags=tags,
                                     partition_key=session_partition_key(scope, decided)))  # fmt: skip
        return out

    @dg.sensor(
        name=f"{scope.prefix}_market_state_sensor",
        jobs=targets,
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        default_status=default_sensor_status(scope.mode),
        description=f"Watches the TradingCalendar state of {scope.market.value}: POST_CLOSE asks for the "
        "session's daily cycle (after the models of its period, when missing), PRE_OPEN for the pre-open QC and "
        "orders; records market_states.",
    )
    def market_state_sensor(context: dg.SensorEvaluationContext, runtime: RuntimeStoreResource) -> dg.SensorResult:
        cursor = WatchCursor.loads(context.cursor)
        tick = watch.tick(clock(), cursor)
        cycle, superseded = pending_cycle(scope.market, cursor.held if cursor else None, tick.requests)
        requests, held = [], None
        if cycle is not None:
            requests, ready = cycle_requests(context.instance, cycle) if models else (run_requests(cycle), True)
            held = None if ready else cycle.session
        requests += [r for req in tick.requests if req.kind is not CycleKind.DAILY_CYCLE for r in run_requests(req)]
        store = runtime.store()
        try:
            new = record_transitions(store, tick.transitions)
            Alerter(store, settings.alert_webhook, clock).raise_all(missed_cycle_alerts([*tick.missed, *superseded]))
        finally:
            store.close()
        context.log.info(f"{scope.market.value} {tick.state.value}: {new} new transition(s), "
                         f"{len(requests)} request(s), {len(tick.missed) + len(superseded)} missed"
                         + (f", daily cycle {held} held for its models" if held else ""))  # fmt: skip
        # The cursor moves only after the transitions are stored: a failed write is retried next tick.
        return dg.SensorResult(run_requests=requests, cursor=replace(tick.cursor, held=held).dumps())

    return market_state_sensor


def _fallback_schedule(
    scope: MarketScope, calendar: TradingCalendar, daily: dg.UnresolvedAssetJobDefinition, clock: Clock
) -> dg.ScheduleDefinition:
    watch = MarketWatch(calendar, scope.market)
    tz = calendar.tz(scope.market)
    cron = fallback_cron(calendar, scope.market, FALLBACK_DELAY, clock().astimezone(tz).date())

    @dg.schedule(
        name=f"{scope.prefix}_daily_cycle_fallback_schedule",
        cron_schedule=cron,
        execution_timezone=str(tz),
        job=daily,
        default_status=default_schedule_status(scope.mode),
        description=f"Fallback for the market-state sensor of {scope.market.value}: after the POST_CLOSE window, "
        "the last closed session's daily cycle unless a run already carries its cycle tag.",
    )
    def fallback(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        at = context.scheduled_execution_time or clock()
        request = CycleRequest(CycleKind.DAILY_CYCLE, scope.market, watch.session_closed_by(at))
        tags = _cycle_tags(scope, request)
        # Run keys are kept per sensor and per schedule: the tag is what tells this schedule the sensor ran it.
        if context.instance.get_run_records(dg.RunsFilter(tags={CYCLE_TAG: tags[CYCLE_TAG]}), limit=1):
            return dg.SkipReason(f"daily cycle {tags[CYCLE_TAG]} already has a run")
        return dg.RunRequest(run_key=request.run_key, tags=tags,
                             partition_key=session_partition_key(scope, request.session))  # fmt: skip

    return fallback


#: Run statuses after which a run's check evaluations are final.
_FINISHED = (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE)
CHECK_EVALUATION = DagsterEventType.ASSET_CHECK_EVALUATION


def _check_alerts(entry: EventLogEntry, run_id: str) -> list[NewAlert]:
    ev = entry.dagster_event.event_specific_data if entry.dagster_event else None
    if not isinstance(ev, AssetCheckEvaluation):
        return []
    metadata = {k: v.value for k, v in ev.metadata.items()}
    verdict = CheckEvaluation(ev.asset_key.to_user_string(), ev.check_name, ev.passed, ev.severity.value, run_id,
                              metadata)  # fmt: skip
    found = check_alert(verdict, _market_of(ev.asset_key.path[0]))
    return [] if found is None else [found]


def _root_error(error: SerializableErrorInfo | None) -> str:
    # Dagster wraps the asset's exception (DagsterExecutionStepExecutionError): the cause says what went wrong.
    while error is not None and error.cause is not None:
        error = error.cause
    return "" if error is None else error.message.strip()


def _market_of(text: str | None) -> Market | None:
    if not text:
        return None
    try:
        return Market(text.upper())
    except ValueError:
        return None


def build_alert_sensors(settings: Settings, *, clock: Clock = utc_now) -> list[dg.SensorDefinition]:
    """Run failures, failed checks (ERROR checks, Kronos' degraded-config check) and kill-switch moves -> alerts.

    Raises
    ------
    ConfigError
        ``PROMETHEUS_ALERT_WEBHOOK`` is not an http(s) URL: the code location refuses to load rather than every
        sensor tick failing later.
    """
    if settings.alert_webhook:
        check_webhook_url(settings.alert_webhook)
    status = default_sensor_status(settings.mode)

    def alerter(store_resource: RuntimeStoreResource) -> Alerter:
        return Alerter(store_resource.store(), settings.alert_webhook, clock)

    @dg.run_failure_sensor(name="alerts_run_failure_sensor", default_status=status,
                           description="Raises a CRITICAL alert for every failed run.")  # fmt: skip
    def run_failure(context: dg.RunFailureSensorContext, runtime: RuntimeStoreResource) -> None:
        steps = context.get_step_failure_events()
        error = _root_error(steps[0].event_specific_data.error) if steps else context.failure_event.message
        sink = alerter(runtime)
        try:
            sink.raise_alert(run_failure_alert(context.dagster_run.job_name, context.dagster_run.run_id, error or "",
                                               _market_of(context.dagster_run.tags.get(MARKET_TAG))))  # fmt: skip
        finally:
            sink.store.close()

    @dg.sensor(name="alerts_check_sensor", minimum_interval_seconds=SENSOR_INTERVAL_S, default_status=status,
               description="Raises alerts for failed ERROR checks (QC, freshness) and Kronos' degraded-config "
               "check of every finished run; a first tick starts at the newest finished run.")  # fmt: skip
    def checks(context: dg.SensorEvaluationContext, runtime: RuntimeStoreResource) -> dg.SensorResult:
        # Finished runs, then each run's check evaluations: the one way that works on every instance storage
        # (a query of check evaluations across runs needs a run-sharded cursor on the default SQLite storage).
        instance = context.instance
        if not context.cursor:
            newest = {t.value: instance.fetch_run_status_changes(t, limit=1).cursor for t in _FINISHED}
            return dg.SensorResult(cursor=json.dumps(newest))
        cursors: dict[str, str] = json.loads(context.cursor)
        news = []
        for status in _FINISHED:
            finished = instance.fetch_run_status_changes(
                status, limit=100, cursor=cursors[status.value], ascending=True
            )
            for run in finished.records:
                for record in instance.get_records_for_run(run.run_id, of_type=CHECK_EVALUATION).records:
                    news += _check_alerts(record.event_log_entry, run.run_id)
            cursors[status.value] = finished.cursor
        sink = alerter(runtime)
        try:
            sink.raise_all(news)
        finally:
            sink.store.close()
        return dg.SensorResult(cursor=json.dumps(cursors))

    @dg.sensor(name="alerts_kill_switch_sensor", minimum_interval_seconds=SENSOR_INTERVAL_S, default_status=status,
               description="Raises an alert for every kill-switch change in risk_state (any process).")  # fmt: skip
    def kill_switch(context: dg.SensorEvaluationContext, runtime: RuntimeStoreResource) -> dg.SensorResult:
        sink = alerter(runtime)
        try:
            news, last = kill_switch_alerts(sink.store, int(context.cursor) if context.cursor else None)
            sink.raise_all(news)
        finally:
            sink.store.close()
        return dg.SensorResult(cursor=None if last is None else str(last))

    return [run_failure, checks, kill_switch]


def order_job_for(
    scope: MarketScope, jobs: Sequence[dg.UnresolvedAssetJobDefinition]
) -> dg.UnresolvedAssetJobDefinition | None:
    """The market's order-submission job (``<m>_submit_orders_job``) among ``jobs``, if the code location has one."""
    name = flow_job_name(scope, ORDER_FLOW)
    found = [j for j in jobs if j.name == name]
    if len(found) > 1:
        raise ConfigError(f"two jobs named {name}", setting="jobs")
    return found[0] if found else None
