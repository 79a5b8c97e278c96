"""Sensors and schedules of the code location, evaluated with ``build_sensor_context`` / ``build_schedule_context``
and a clock the test walks through a PAPER day: run requests, run keys, cursors, market_states and alerts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from prometheus.core.errors import ConfigError
from prometheus.core.settings import Settings, load_settings
from prometheus.core.types import Market, MarketState, Mode
from prometheus.execution.kill_switch import KillSwitch
from prometheus.orchestration import list_alerts, list_transitions
from prometheus.runtime import RuntimeStore
from prometheus.runtime.enums import AlertSeverity, TradingState
from prometheus_assets.definitions import build_definitions
from prometheus_assets.launch import MARKET_TAG
from prometheus_assets.partitions import MarketScope
from prometheus_assets.sensors import (
    CYCLE_TAG,
    ORDER_FLOW,
    SESSION_TAG,
    MarketOrchestration,
    build_alert_sensors,
    build_market_orchestration,
    flow_job_name,
)
from prometheus_resources.stores import RuntimeStoreResource
from tests.support.fixtures import runtime_db_url, sqlite_url  # noqa: F401  (fixtures)

PAPER_ENV = {"PROMETHEUS_MODE": "PAPER", "PROMETHEUS_IB_ACCOUNT": "DU1234567"}
NY = ZoneInfo("America/New_York")


class Clock:
    """Now, as the test sets it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _paper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> Settings:
    for key, value in PAPER_ENV.items():  # the broker resource reads them through dg.EnvVar
        monkeypatch.setenv(key, value)
    return load_settings({"PROMETHEUS_DATA_ROOT": str(tmp_path), "PROMETHEUS_RUNTIME_DB_URL": url, **PAPER_ENV})


@pytest.fixture
def paper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime_db_url: str) -> Settings:  # noqa: F811
    """PAPER settings with a runtime store on SQLite, then on PostgreSQL."""
    return _paper(tmp_path, monkeypatch, runtime_db_url)


@pytest.fixture
def paper_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Settings:  # noqa: F811
    """PAPER settings with a SQLite runtime store (tests that do not exercise the store's SQL)."""
    return _paper(tmp_path, monkeypatch, sqlite_url)


def _market_assets(defs: dg.Definitions, prefix: str = "us_eq") -> list[dg.AssetsDefinition]:
    return [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.keys
            and next(iter(a.keys)).path[0] == prefix]  # fmt: skip


def _location(
    defs: dg.Definitions, orchestration: MarketOrchestration, *jobs: dg.UnresolvedAssetJobDefinition
) -> dg.Definitions:
    """The market's assets with the orchestration under test (the sensors of ``defs`` read the wall clock)."""
    return dg.Definitions(assets=_market_assets(defs), asset_checks=orchestration.checks, jobs=list(jobs),
                          sensors=orchestration.sensors, schedules=orchestration.schedules,
                          resources=defs.resources)  # fmt: skip


def _tick(sensor: dg.SensorDefinition, cursor: str | None, resources: dict[str, object], **kw: object) -> Any:
    """One evaluation; the context is closed afterwards (it holds the initialised resources)."""
    with dg.build_sensor_context(cursor=cursor, resources=resources, **kw) as context:  # type: ignore[arg-type]
        return sensor.evaluate_tick(context)


def _ours(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k.startswith("prometheus/")}


def _resources(settings: Settings) -> dict[str, object]:
    return {"runtime": RuntimeStoreResource(url=settings.effective_runtime_db_url)}


def test_market_sensor_when_a_paper_day_is_walked_requests_each_cycle_once(paper: Settings) -> None:
    defs = build_definitions(paper)
    scope = MarketScope(Market.US_EQ, Mode.PAPER, paper.history_start)
    clock = Clock(datetime(2024, 3, 5, 12, 0, tzinfo=UTC))
    orders = dg.define_asset_job(flow_job_name(scope, ORDER_FLOW), selection=[scope.key("target_portfolios")])
    orchestration = build_market_orchestration(scope, _market_assets(defs), paper, clock=clock, order_job=orders)
    sensor = next(s for s in orchestration.sensors if s.name == "us_eq_market_state_sensor")
    location = _location(defs, orchestration, orders)
    cursor, requests = None, []
    # Before, into and through PRE_OPEN, OPEN, POST_CLOSE and CLOSED, to the next PRE_OPEN (UTC; NYSE in EST).
    for day, hour, minute in [(5, 12, 0), (5, 13, 0), (5, 13, 30), (5, 14, 0), (5, 14, 30), (5, 18, 0), (5, 21, 0),
                              (5, 21, 30), (5, 22, 0), (5, 23, 0), (6, 13, 0), (6, 13, 45), (6, 14, 0)]:  # fmt: skip
        clock.now = datetime(2024, 3, day, hour, minute, tzinfo=UTC)
        result = _tick(sensor, cursor, _resources(paper), repository_def=location.get_repository_def())
        requests += [(clock.now, r.job_name, r.run_key, r.partition_key, _ours(r.tags)) for r in result.run_requests]
        assert json.loads(result.cursor) == {"observed_to": clock.now.isoformat()}
        cursor = result.cursor
    tags = {MARKET_TAG: "US_EQ", CYCLE_TAG: "US_EQ|2024-03-05", SESSION_TAG: "2024-03-05"}
    tags_6 = {MARKET_TAG: "US_EQ", CYCLE_TAG: "US_EQ|2024-03-06", SESSION_TAG: "2024-03-06"}
    at = lambda h, m=0, d=5: datetime(2024, 3, d, h, m, tzinfo=UTC)  # noqa: E731
    assert requests == [
        (at(13, 30), "us_eq_pre_open_job", "US_EQ|2024-03-05|pre_open", None, tags),
        (at(13, 30), "us_eq_submit_orders_job", "US_EQ|2024-03-05|submit_orders", "2024-03-04", tags),
        (at(21), "us_eq_daily_cycle_job", "US_EQ|2024-03-05", "2024-03-05", tags),
        (at(13, 45, 6), "us_eq_pre_open_job", "US_EQ|2024-03-06|pre_open", None, tags_6),
        (at(13, 45, 6), "us_eq_submit_orders_job", "US_EQ|2024-03-06|submit_orders", "2024-03-05", tags_6),
    ]
    # The partition asked for exists in the PAPER code location and holds exactly that session.
    job = defs.resolve_job_def("us_eq_daily_cycle_job")
    window = job.partitions_def.time_window_for_partition_key("2024-03-05")
    assert (window.start.date(), window.end.date()) == (date(2024, 3, 5), date(2024, 3, 6))
    store = RuntimeStore(paper.effective_runtime_db_url)
    rows = [(r.ts, r.state, r.session) for r in list_transitions(store, Market.US_EQ)]
    store.close()
    assert rows == [(at(22, 0, 4), MarketState.CLOSED, None), (at(13, 30), MarketState.PRE_OPEN, date(2024, 3, 5)),
                    (at(14, 30), MarketState.OPEN, date(2024, 3, 5)), (at(21), MarketState.POST_CLOSE,
                    date(2024, 3, 5)), (at(22), MarketState.CLOSED, None),
                    (at(13, 30, 6), MarketState.PRE_OPEN, date(2024, 3, 6))]  # fmt: skip
    # A second evaluation at the same instant with the cursor asks for nothing; a restart without the cursor
    # asks again with the same run key (Dagster launches one run per key) and records no second row.
    clock.now = at(21, 10)
    observed = json.dumps({"observed_to": at(21, 10).isoformat()})
    again = _tick(sensor, observed, _resources(paper), repository_def=location.get_repository_def())
    assert again.run_requests == []
    restart = _tick(sensor, None, _resources(paper), repository_def=location.get_repository_def())
    assert [r.run_key for r in restart.run_requests] == ["US_EQ|2024-03-05"]
    store = RuntimeStore(paper.effective_runtime_db_url)
    assert len(list_transitions(store, Market.US_EQ)) == len(rows)
    store.close()


def test_market_sensor_when_it_was_down_for_days_alerts_the_missed_cycles(paper_sqlite: Settings) -> None:
    paper = paper_sqlite
    defs = build_definitions(paper)
    scope = MarketScope(Market.US_EQ, Mode.PAPER, paper.history_start)
    clock = Clock(datetime(2024, 3, 7, 21, 30, tzinfo=UTC))
    orchestration = build_market_orchestration(scope, _market_assets(defs), paper, clock=clock)
    sensor = orchestration.sensors[-1]
    cursor = json.dumps({"observed_to": datetime(2024, 3, 5, 12, 0, tzinfo=UTC).isoformat()})
    result = _tick(sensor, cursor, _resources(paper), definitions=_location(defs, orchestration))
    assert [r.run_key for r in result.run_requests] == ["US_EQ|2024-03-07"]
    store = RuntimeStore(paper.effective_runtime_db_url)
    alerts = list_alerts(store)
    store.close()
    assert sorted(a.details["run_key"] for a in alerts) == ["US_EQ|2024-03-05", "US_EQ|2024-03-05|pre_open",
                                                            "US_EQ|2024-03-06", "US_EQ|2024-03-06|pre_open",
                                                            "US_EQ|2024-03-07|pre_open"]  # fmt: skip
    assert {(a.severity, a.source) for a in alerts} == {(AlertSeverity.WARNING, "market_cycle")}


def test_definitions_when_paper_run_sensors_and_freshness_checks_and_backtest_keeps_them_stopped(
    paper_sqlite: Settings, tmp_path: Path
) -> None:
    defs = build_definitions(paper_sqlite)
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    sensors = {s.name: s.default_status for s in repo.sensor_defs}
    assert sensors == dict.fromkeys(["us_eq_market_state_sensor", "us_eq_freshness_checks_sensor",
                                     "alerts_run_failure_sensor", "alerts_check_sensor", "alerts_kill_switch_sensor"],
                                    dg.DefaultSensorStatus.RUNNING)  # fmt: skip
    schedules = {s.name: (s.cron_schedule, s.execution_timezone, s.default_status) for s in repo.schedule_defs}
    assert schedules == {"us_eq_daily_cycle_fallback_schedule": ("0 18 * * 1-5", "America/New_York",
                                                                  dg.DefaultScheduleStatus.RUNNING)}  # fmt: skip
    # The daily cycle: every session-partitioned asset of the market (the backtest simulator and models aside).
    daily = {
        k.to_user_string() for k in defs.resolve_job_def("us_eq_daily_cycle_job").asset_layer.executable_asset_keys
    }
    assert {"us_eq/prices_daily", "us_eq/profiles", "us_eq/regime_states", "us_eq/target_portfolios",
            "us_eq/scenario_sets", "us_eq/decision_outcomes"} <= daily  # fmt: skip
    assert not daily & {"us_eq/backtest_daily", "us_eq/regime_model", "us_eq/kronos_report", "us_eq/reference_series"}
    checks = {(k.asset_key.to_user_string(), k.name) for k in defs.resolve_asset_graph().asset_check_keys
              if k.name == "freshness_check"}  # fmt: skip
    assert checks == {(key, "freshness_check") for key in daily}
    # The freshness checks run at PRE_OPEN only; the cycle keeps its assets' own checks (QC, engine outputs).
    cycle_checks = defs.resolve_job_def("us_eq_daily_cycle_job").asset_layer.asset_graph.asset_check_keys
    assert {k.name for k in cycle_checks} >= {"qc_quarantine", "fit_for_engines"}
    assert "freshness_check" not in {k.name for k in cycle_checks}
    pre_open = defs.resolve_job_def("us_eq_pre_open_job")
    assert {(k.asset_key.to_user_string(), k.name) for k in pre_open.asset_layer.asset_graph.asset_check_keys} >= checks
    backtest = build_definitions(load_settings({"PROMETHEUS_DATA_ROOT": str(tmp_path / "bt")}))
    repo = backtest.get_repository_def()
    assert {s.default_status for s in repo.sensor_defs} == {dg.DefaultSensorStatus.STOPPED}
    assert {s.default_status for s in repo.schedule_defs} == {dg.DefaultScheduleStatus.STOPPED}
    assert "us_eq_pre_open_job" not in {j.name for j in repo.get_all_jobs()}


def test_fallback_schedule_when_the_sensor_already_ran_the_cycle_skips(paper_sqlite: Settings) -> None:
    paper = paper_sqlite
    defs = build_definitions(paper)
    scope = MarketScope(Market.US_EQ, Mode.PAPER, paper.history_start)
    clock = Clock(datetime(2024, 3, 5, 23, 0, tzinfo=UTC))
    orchestration = build_market_orchestration(scope, _market_assets(defs), paper, clock=clock)
    schedule, location = orchestration.schedules[0], _location(defs, orchestration)
    with dg.instance_for_test() as instance:
        _fallback_ticks(schedule, location, instance)


def _fallback_ticks(schedule: dg.ScheduleDefinition, location: dg.Definitions, instance: dg.DagsterInstance) -> None:
    fired = datetime(2024, 3, 5, 18, 0, tzinfo=NY)
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=fired, repository_def=location.get_repository_def()
    )
    request = schedule.evaluate_tick(context).run_requests[0]
    assert (request.run_key, request.partition_key, request.tags[CYCLE_TAG]) == (
        "US_EQ|2024-03-05", "2024-03-05", "US_EQ|2024-03-05")  # fmt: skip

    @dg.asset
    def marker() -> None:
        """A run that carries the cycle tag, as the sensor's run does."""

    dg.materialize([marker], instance=instance, tags={CYCLE_TAG: "US_EQ|2024-03-05"})
    skipped = schedule.evaluate_tick(
        dg.build_schedule_context(
            instance=instance, scheduled_execution_time=fired, repository_def=location.get_repository_def()
        )
    )
    assert skipped.run_requests == []
    assert "already has a run" in (skipped.skip_message or "")


def test_alert_sensors_when_runs_fail_checks_fail_and_the_switch_trips_raise_alerts(paper: Settings) -> None:
    clock = Clock(datetime(2024, 3, 5, 21, 0, tzinfo=UTC))
    run_failure, checks, kill_switch = build_alert_sensors(paper, clock=clock)
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(paper)
    first = _tick(checks, None, resources, instance=instance)
    assert first.run_requests == []

    @dg.asset(
        key=["us_eq", "prices_daily"], check_specs=[dg.AssetCheckSpec("qc_quarantine", asset=["us_eq", "prices_daily"])]
    )
    def prices() -> dg.MaterializeResult:
        verdict = dg.AssetCheckResult(check_name="qc_quarantine", passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                      metadata={"rows": 2})  # fmt: skip
        return dg.MaterializeResult(check_results=[verdict])

    @dg.asset(key=["us_eq", "kronos_report"],
              check_specs=[dg.AssetCheckSpec("no_degraded_config", asset=["us_eq", "kronos_report"])])  # fmt: skip
    def kronos() -> dg.MaterializeResult:
        return dg.MaterializeResult(check_results=[dg.AssetCheckResult(
            check_name="no_degraded_config", passed=False, severity=dg.AssetCheckSeverity.WARN)])  # fmt: skip

    @dg.asset(key=["us_eq", "regime_states"])
    def broken() -> None:
        raise ValueError("regime fit diverged")

    dg.materialize([prices, kronos], instance=instance)
    failed = dg.materialize([broken], instance=instance, raise_on_error=False, tags={MARKET_TAG: "US_EQ"})
    second = _tick(checks, first.cursor, resources, instance=instance)
    third = _tick(checks, second.cursor, resources, instance=instance)
    assert second.cursor != first.cursor  # moved past the two finished runs
    assert third.cursor == second.cursor
    event = instance.get_records_for_run(failed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0]
    context = dg.build_run_status_sensor_context(
        sensor_name=run_failure.name, dagster_event=event.event_log_entry.dagster_event, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(failed.run_id), resources=resources,
    ).for_run_failure()  # fmt: skip
    run_failure(context)
    store = RuntimeStore(paper.effective_runtime_db_url)
    KillSwitch(store).set(TradingState.HALTED, "drill", "ops")
    tripped = _tick(kill_switch, None, resources)
    again = _tick(kill_switch, tripped.cursor, resources)
    assert again.cursor == tripped.cursor
    alerts = sorted(list_alerts(store), key=lambda a: a.id)
    store.close()
    # The two check verdicts come in the order the run evaluated them; the run failure and the trip after them.
    assert sorted((a.severity, a.source, a.market) for a in alerts[:2]) == [
        (AlertSeverity.CRITICAL, "qc_check", "US_EQ"),
        (AlertSeverity.WARNING, "kronos", "US_EQ"),
    ]
    assert [(a.severity, a.source, a.market) for a in alerts[2:]] == [
        (AlertSeverity.CRITICAL, "run_failure", "US_EQ"),
        (AlertSeverity.CRITICAL, "kill_switch", None),
    ]
    qc = next(a for a in alerts if a.source == "qc_check")
    assert (qc.details["check"], qc.details["metadata"]) == ("qc_quarantine", {"rows": 2})
    assert alerts[2].message == "run of __ephemeral_asset_job__ failed: ValueError: regime fit diverged"
    assert alerts[2].details["run_id"] == failed.run_id
    assert all(a.ts == clock.now for a in alerts[:3])


def test_definitions_when_alert_webhook_is_not_http_refuse_to_load(tmp_path: Path) -> None:
    # The settings refuse it first now (the webhook is a checked secret); the code location would refuse it too.
    with pytest.raises(ConfigError, match="PROMETHEUS_ALERT_WEBHOOK|not an http"):
        build_definitions(
            load_settings({"PROMETHEUS_DATA_ROOT": str(tmp_path), "PROMETHEUS_ALERT_WEBHOOK": "file:///etc/passwd"})
        )


def test_pre_open_job_when_no_session_was_materialised_fails_freshness_and_raises_qc_alerts(
    paper_sqlite: Settings,
) -> None:
    defs = build_definitions(paper_sqlite)
    _, checks, _ = build_alert_sensors(paper_sqlite)
    resources = _resources(paper_sqlite)
    with dg.instance_for_test() as instance:
        start = _tick(checks, None, resources, instance=instance)
        result = defs.resolve_job_def("us_eq_pre_open_job").execute_in_process(instance=instance)
        _tick(checks, start.cursor, resources, instance=instance)
    verdicts = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    daily = {
        k.to_user_string() for k in defs.resolve_job_def("us_eq_daily_cycle_job").asset_layer.executable_asset_keys
    }
    assert {v.asset_key.to_user_string() for v in verdicts} == daily
    assert not any(v.passed for v in verdicts)
    store = RuntimeStore(paper_sqlite.effective_runtime_db_url)
    alerts = list_alerts(store)
    store.close()
    assert {(a.severity, a.source, a.market, a.details["check"]) for a in alerts} == {
        (AlertSeverity.CRITICAL, "qc_check", "US_EQ", "freshness_check")
    }
    assert {a.details["asset"] for a in alerts} == daily
