"""What raises alerts: failed runs, failed checks, kill-switch moves, broker connectivity, missed cycles.

Each source is a rule from plain facts to :class:`~prometheus.orchestration.alerts.NewAlert` (the Dagster sensors
pass the facts in); the kill switch is read from ``risk_state`` after a cursor, so trips by any process (the
RiskGate's loss limits, the broker, an operator) are seen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from prometheus.core.types import Market
from prometheus.orchestration.alerts import Alerter, AlertSource, NewAlert
from prometheus.orchestration.market_watch import CycleKind, CycleRequest
from prometheus.runtime.enums import AlertSeverity, TradingState
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables.execution import risk_state

#: Check severities, as Dagster names them, that alert when the check fails.
ALERTING_CHECK_SEVERITY = "ERROR"
#: The Kronos report's check: failing means a degraded config (a WARN check that still alerts, as Kronos).
KRONOS_CHECK = ("kronos_report", "no_degraded_config")
_KILL_SEVERITY = {TradingState.HALTED: AlertSeverity.CRITICAL, TradingState.REDUCING: AlertSeverity.WARNING,
                  TradingState.ACTIVE: AlertSeverity.INFO}  # fmt: skip


def run_failure_alert(job: str, run_id: str, error: str, market: Market | None) -> NewAlert:
    """A failed Dagster run: CRITICAL, with the job, the run id and the first error."""
    return NewAlert(AlertSeverity.CRITICAL, AlertSource.RUN_FAILURE, f"run of {job} failed: {error}", market,
                    {"job": job, "run_id": run_id})  # fmt: skip


@dataclass(frozen=True, slots=True)
class CheckEvaluation:
    """One asset-check verdict: asset key as ``us_eq/prices_daily``, check name, pass, Dagster severity name."""

    asset: str
    check: str
    passed: bool
    severity: str
    run_id: str
    metadata: Mapping[str, Any]


def check_alert(evaluation: CheckEvaluation, market: Market | None) -> NewAlert | None:
    """An alert for a failed check: Kronos' degraded-config check as KRONOS (WARNING), any ERROR check as
    QC_CHECK (CRITICAL); None for a passing check or a failed WARN check (shown in the UI only)."""
    if evaluation.passed:
        return None
    details = {"asset": evaluation.asset, "check": evaluation.check, "run_id": evaluation.run_id,
               "metadata": dict(evaluation.metadata)}  # fmt: skip
    name = (evaluation.asset.rsplit("/", 1)[-1], evaluation.check)
    if name == KRONOS_CHECK:
        return NewAlert(AlertSeverity.WARNING, AlertSource.KRONOS,
                        f"Kronos finds a degraded config ({evaluation.asset}); review its proposals", market,
                        details)  # fmt: skip
    if evaluation.severity == ALERTING_CHECK_SEVERITY:
        return NewAlert(AlertSeverity.CRITICAL, AlertSource.QC_CHECK,
                        f"check {evaluation.check} failed on {evaluation.asset}", market, details)  # fmt: skip
    return None


def missed_cycle_alerts(missed: Sequence[CycleRequest]) -> list[NewAlert]:
    """WARNING per cycle whose window passed without its run (the sensor was down): a backfill is needed."""
    out = []
    for r in missed:
        what = "daily cycle" if r.kind is CycleKind.DAILY_CYCLE else "pre-open work"
        details = {"kind": r.kind.value, "session": r.session.isoformat(), "run_key": r.run_key}
        message = f"{what} of {r.market.value} {r.session} was not run in its window; run it by hand if still needed"
        out.append(NewAlert(AlertSeverity.WARNING, AlertSource.MARKET_CYCLE, message, r.market, details))
    return out


def kill_switch_alerts(store: RuntimeStore, after_id: int | None) -> tuple[list[NewAlert], int | None]:
    """Alerts for the kill-switch changes recorded after row ``after_id``, and the new cursor (last id seen).

    Without a cursor only the scopes whose latest state is not ACTIVE alert (a fresh sensor reports what is in
    force, not the whole history). HALTED is CRITICAL, REDUCING WARNING, a return to ACTIVE INFO.
    """
    stmt = sa.select(risk_state).order_by(risk_state.c.id)
    if after_id is not None:
        stmt = stmt.where(risk_state.c.id > after_id)
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    if not rows:
        return [], after_id
    if after_id is None:
        latest = {r.scope: r for r in rows}
        rows = [r for r in latest.values() if r.state != TradingState.ACTIVE.value]
        last = max(latest[s].id for s in latest)
    else:
        last = rows[-1].id
    news = [
        NewAlert(_KILL_SEVERITY[TradingState(r.state)], AlertSource.KILL_SWITCH,
                 f"kill switch {r.scope}: {r.state} by {r.set_by}: {r.reason}", None,
                 {"scope": r.scope, "state": r.state, "set_by": r.set_by, "set_at": r.set_at.isoformat(),
                  "risk_state_id": r.id})
        for r in rows
    ]  # fmt: skip
    return news, int(last)


class BrokerAlerts:
    """The broker side's hook: call it with ``(degraded, reason)`` whenever connectivity changes.

    Only changes alert (a repeated "degraded" is one alert): losing the connection is CRITICAL in LIVE terms,
    WARNING here because the broker already stops new orders and the kill switch shows REDUCING; getting it back
    is INFO.

    Parameters
    ----------
    alerter
        Where the alerts go.
    broker
        Name shown in the alert (``ib``, with the account masked by the caller).
    market
        The market the broker trades, when it trades one.
    """

    def __init__(self, alerter: Alerter, broker: str, market: Market | None = None) -> None:
        self.alerter = alerter
        self.broker = broker
        self.market = market
        self._degraded = False

    def __call__(self, degraded: bool, reason: str) -> None:
        if degraded == self._degraded:
            return
        self._degraded = degraded
        if degraded:
            new = NewAlert(AlertSeverity.WARNING, AlertSource.BROKER,
                           f"broker {self.broker} degraded: {reason}; no new orders", self.market,
                           {"broker": self.broker, "degraded": True, "reason": reason})  # fmt: skip
        else:
            new = NewAlert(AlertSeverity.INFO, AlertSource.BROKER, f"broker {self.broker} restored: {reason}",
                           self.market, {"broker": self.broker, "degraded": False, "reason": reason})  # fmt: skip
        self.alerter.raise_alert(new)


#: Signature of the hook the broker calls: ``(degraded, reason)``.
ConnectivityHook = Callable[[bool, str], None]
