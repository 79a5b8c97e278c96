"""Alerts: a row in ``alerts``, a log line, and an optional webhook POST; listed and acknowledged by people.

The row is written and committed before anything else: a log handler or a webhook that fails never loses an
alert. The webhook gets the row as JSON (``ALERT_PAYLOAD_FIELDS``); it is best effort with a short timeout,
because the caller is a sensor tick or a broker callback that must not hang on a chat service.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from prometheus.core.errors import ConfigError, PrometheusError
from prometheus.core.settings import mask_secrets
from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.orchestration.market_watch import Clock
from prometheus.runtime.enums import AlertSeverity
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables.meta import alerts

_log = logging.getLogger("prometheus.alerts")

#: Seconds a webhook may take before the alert is left in the table and the log only.
WEBHOOK_TIMEOUT_S = 5.0
#: Keys of the JSON object POSTed to the webhook.
ALERT_PAYLOAD_FIELDS = ("id", "ts", "severity", "source", "market", "message", "details")
_LEVELS = {AlertSeverity.INFO: logging.INFO, AlertSeverity.WARNING: logging.WARNING,
           AlertSeverity.CRITICAL: logging.CRITICAL}  # fmt: skip


class AlertSource(StrEnum):
    """Where an alert comes from (``alerts.source``)."""

    RUN_FAILURE = "run_failure"  # a Dagster run failed
    QC_CHECK = "qc_check"  # an asset check of ERROR severity failed (QC, freshness, engine output checks)
    KILL_SWITCH = "kill_switch"  # the kill switch moved (risk_state)
    BROKER = "broker"  # the broker lost or regained its connection
    KRONOS = "kronos"  # Kronos found a degraded config
    MARKET_CYCLE = "market_cycle"  # a daily cycle or pre-open window passed without its run


class UnknownAlert(PrometheusError):
    """No alert with the given id."""


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert to raise: what happened, how urgent, where."""

    severity: AlertSeverity
    source: AlertSource
    message: str
    market: Market | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Alert:
    """One row of ``alerts``."""

    id: int
    ts: datetime
    severity: AlertSeverity
    source: str
    market: str | None
    message: str
    details: Mapping[str, Any] | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None

    @property
    def acknowledged(self) -> bool:
        """True once someone has acknowledged it."""
        return self.acknowledged_at is not None

    def payload(self) -> dict[str, Any]:
        """The JSON object sent to the webhook."""
        return {"id": self.id, "ts": self.ts.isoformat(), "severity": self.severity.value, "source": self.source,
                "market": self.market, "message": self.message, "details": dict(self.details or {})}  # fmt: skip


def check_webhook_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host.

    Raises
    ------
    ConfigError
        Any other scheme (``file:``, ``ftp:``) or no host: urllib would open those too.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"alert webhook {mask_secrets(url)!r} is not an http(s) URL with a host", setting="PROMETHEUS_ALERT_WEBHOOK"
        )
    return url


class Alerter:
    """Raises alerts into the runtime store, the log and (when configured) a webhook.

    Parameters
    ----------
    store
        The runtime store (migrated).
    webhook_url
        http(s) URL receiving each alert as a JSON POST; None: no webhook.
    clock
        Returns the current UTC time (the alert's ``ts``).
    timeout_s
        Webhook timeout in seconds.
    """

    def __init__(
        self,
        store: RuntimeStore,
        webhook_url: str | None = None,
        clock: Clock = utc_now,
        timeout_s: float = WEBHOOK_TIMEOUT_S,
    ) -> None:
        self.store = store
        self.webhook_url = check_webhook_url(webhook_url) if webhook_url else None
        self._clock = clock
        self.timeout_s = timeout_s

    def raise_alert(self, new: NewAlert) -> Alert:
        """Write the alert, log it, then POST it to the webhook; returns the stored row."""
        values = {"ts": self._clock(), "severity": new.severity.value, "source": new.source.value,
                  "market": new.market.value if new.market else None, "message": new.message,
                  "details": dict(new.details) or None}  # fmt: skip
        with self.store.begin() as conn:
            alert_id = conn.execute(sa.insert(alerts).values(**values).returning(alerts.c.id)).scalar_one()
        alert = get_alert(self.store, int(alert_id))
        _log.log(_LEVELS[alert.severity], "ALERT %s %s [%s] %s: %s", alert.id, alert.severity.value, alert.source,
                 alert.market or "-", alert.message)  # fmt: skip
        self.post(alert)
        return alert

    def raise_all(self, news: Sequence[NewAlert]) -> list[Alert]:
        """Raise each of ``news`` in order."""
        return [self.raise_alert(n) for n in news]

    def post(self, alert: Alert) -> bool:
        """POST ``alert`` to the webhook; False (and a warning in the log) when there is none or it fails."""
        if self.webhook_url is None:
            return False
        body = json.dumps(alert.payload()).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s) in __init__
            self.webhook_url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - as above
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            # The alert is already in the table; a webhook outage must not hide it or fail the caller.
            _log.warning("alert %s: webhook %s failed: %s", alert.id, mask_secrets(self.webhook_url), exc)
            return False
        return True


def _row(r: sa.Row[Any]) -> Alert:
    return Alert(r.id, r.ts, AlertSeverity(r.severity), r.source, r.market, r.message, r.details,
                 r.acknowledged_by, r.acknowledged_at)  # fmt: skip


def get_alert(store: RuntimeStore, alert_id: int) -> Alert:
    """The alert ``alert_id``.

    Raises
    ------
    UnknownAlert
        No such alert.
    """
    with store.read() as conn:
        row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
    if row is None:
        raise UnknownAlert(f"no alert with id {alert_id}; `prometheus alerts list --all` shows them")
    return _row(row)


def list_alerts(
    store: RuntimeStore, *, include_acknowledged: bool = False, market: Market | None = None, limit: int | None = None
) -> list[Alert]:
    """Alerts, newest first: unacknowledged only unless ``include_acknowledged``; of one market if given."""
    stmt = sa.select(alerts).order_by(alerts.c.ts.desc(), alerts.c.id.desc()).limit(limit)
    if not include_acknowledged:
        stmt = stmt.where(alerts.c.acknowledged_at.is_(None))
    if market is not None:
        stmt = stmt.where(alerts.c.market == market.value)
    with store.read() as conn:
        return [_row(r) for r in conn.execute(stmt).all()]


def acknowledge(store: RuntimeStore, alert_id: int, by: str, clock: Clock = utc_now) -> Alert:
    """Mark the alert acknowledged by ``by``; an alert already acknowledged keeps its first acknowledgement.

    Raises
    ------
    UnknownAlert
        No such alert.
    """
    if not by.strip():
        raise ConfigError("an acknowledgement needs a name (who acknowledged it)", setting="by")
    with store.begin() as conn:
        conn.execute(
            sa.update(alerts)
            .where(alerts.c.id == alert_id, alerts.c.acknowledged_at.is_(None))
            .values(acknowledged_by=by, acknowledged_at=clock())
        )
    return get_alert(store, alert_id)
