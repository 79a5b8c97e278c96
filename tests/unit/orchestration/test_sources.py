"""Alert sources: failed runs, failed checks (ERROR checks, Kronos), kill-switch changes, broker connectivity,
missed cycles."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from prometheus.core.types import Market
from prometheus.execution.brokers.ib.connectivity import Connectivity
from prometheus.execution.kill_switch import KillSwitch
from prometheus.orchestration import (
    Alerter,
    AlertSource,
    BrokerAlerts,
    CheckEvaluation,
    CycleKind,
    CycleRequest,
    check_alert,
    kill_switch_alerts,
    list_alerts,
    missed_cycle_alerts,
    run_failure_alert,
)
from prometheus.runtime import RuntimeStore
from prometheus.runtime.enums import AlertSeverity, TradingState

T0 = datetime(2024, 3, 5, 21, 0, tzinfo=UTC)


def _eval(asset: str, check: str, passed: bool, severity: str) -> CheckEvaluation:
    return CheckEvaluation(asset, check, passed, severity, "run-1", {"rows": 3})


def test_run_failure_alert_when_built_is_critical_with_job_and_run() -> None:
    new = run_failure_alert("us_eq_daily_cycle_job", "abc", "boom", Market.US_EQ)
    assert (new.severity, new.source, new.market) == (AlertSeverity.CRITICAL, AlertSource.RUN_FAILURE, Market.US_EQ)
    assert new.message == "run of us_eq_daily_cycle_job failed: boom"
    assert new.details == {"job": "us_eq_daily_cycle_job", "run_id": "abc"}


@pytest.mark.parametrize(
    ("evaluation", "expected"),
    [
        (_eval("us_eq/prices_daily", "qc_quarantine", False, "ERROR"), (AlertSeverity.CRITICAL, AlertSource.QC_CHECK)),
        (_eval("us_eq/prices_daily", "qc_quarantine", True, "ERROR"), None),
        (_eval("us_eq/prices_daily", "missing_sessions", False, "WARN"), None),
        (
            _eval("us_eq/kronos_report", "no_degraded_config", False, "WARN"),
            (AlertSeverity.WARNING, AlertSource.KRONOS),
        ),
        (_eval("us_eq/kronos_report", "no_degraded_config", True, "WARN"), None),
    ],
    ids=["error_failed", "error_passed", "warn_failed", "kronos_degraded", "kronos_fine"],
)
def test_check_alert_when_evaluated_alerts_only_failed_error_checks_and_kronos(
    evaluation: CheckEvaluation, expected: tuple[AlertSeverity, AlertSource] | None
) -> None:
    new = check_alert(evaluation, Market.US_EQ)
    assert (None if new is None else (new.severity, new.source)) == expected
    if new is not None:
        assert new.details == {"asset": evaluation.asset, "check": evaluation.check, "run_id": "run-1",
                               "metadata": {"rows": 3}}  # fmt: skip


def test_missed_cycle_alerts_when_built_name_the_run_key() -> None:
    missed = [CycleRequest(CycleKind.DAILY_CYCLE, Market.US_EQ, date(2024, 3, 4)),
              CycleRequest(CycleKind.PRE_OPEN, Market.US_EQ, date(2024, 3, 5))]  # fmt: skip
    news = missed_cycle_alerts(missed)
    assert [(n.severity, n.source, n.details["run_key"]) for n in news] == [
        (AlertSeverity.WARNING, AlertSource.MARKET_CYCLE, "US_EQ|2024-03-04"),
        (AlertSeverity.WARNING, AlertSource.MARKET_CYCLE, "US_EQ|2024-03-05|pre_open"),
    ]
    assert news[0].message.startswith("daily cycle of US_EQ 2024-03-04 was not run")


def test_kill_switch_alerts_when_state_moves_alert_each_change_after_the_cursor(store: RuntimeStore) -> None:
    ticks = iter(range(100))
    switch = KillSwitch(store, "global", clock=lambda: T0 + timedelta(seconds=next(ticks)))
    assert kill_switch_alerts(store, None) == ([], None)
    switch.set(TradingState.HALTED, "drill", "ops")
    first, cursor = kill_switch_alerts(store, None)  # a fresh sensor: what is in force
    assert [(n.severity, n.message) for n in first] == [(AlertSeverity.CRITICAL,
                                                         "kill switch global: HALTED by ops: drill")]  # fmt: skip
    assert kill_switch_alerts(store, cursor) == ([], cursor)
    switch.set(TradingState.REDUCING, "easing", "ops")
    switch.set(TradingState.ACTIVE, "over", "ops")
    KillSwitch(store, "acct-1").set(TradingState.HALTED, "loss", "risk-limits")
    news, last = kill_switch_alerts(store, cursor)
    assert [(n.severity, n.details["scope"], n.details["state"]) for n in news] == [
        (AlertSeverity.WARNING, "global", "REDUCING"),
        (AlertSeverity.INFO, "global", "ACTIVE"),
        (AlertSeverity.CRITICAL, "acct-1", "HALTED"),
    ]
    assert last is not None
    assert last > cursor


def test_kill_switch_alerts_when_fresh_and_everything_active_report_nothing(sqlite_store: RuntimeStore) -> None:
    store = sqlite_store
    switch = KillSwitch(store, "global")
    switch.set(TradingState.HALTED, "drill", "ops")
    switch.set(TradingState.ACTIVE, "done", "ops")
    news, cursor = kill_switch_alerts(store, None)
    assert news == []
    assert cursor is not None


def test_broker_alerts_when_connectivity_drops_and_returns_alert_each_change_once(store: RuntimeStore) -> None:
    hook = BrokerAlerts(Alerter(store), "ib", Market.US_EQ)
    connectivity = Connectivity()
    for code, text in [(1100, "lost"), (1100, "still lost"), (1102, "back")]:
        connectivity.on_error(code, text)
        hook(connectivity.degraded, connectivity.reason or text)
    alerts = list_alerts(store)
    assert [(a.severity, a.source, a.market) for a in alerts] == [
        (AlertSeverity.INFO, "broker", "US_EQ"),
        (AlertSeverity.WARNING, "broker", "US_EQ"),
    ]
    assert alerts[1].message == "broker ib degraded: IB 1100: lost; no new orders"
