"""Alerts: a row, a log line and a webhook POST (to a server on 127.0.0.1 started here); a failing webhook never
loses the row; list and acknowledge."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from prometheus.core.errors import ConfigError
from prometheus.core.types import Market
from prometheus.orchestration import Alerter, AlertSource, NewAlert, UnknownAlert, acknowledge, list_alerts
from prometheus.orchestration.alerts import ALERT_PAYLOAD_FIELDS
from prometheus.runtime import RuntimeStore
from prometheus.runtime.enums import AlertSeverity

T0 = datetime(2024, 3, 5, 21, 0, tzinfo=UTC)


class Webhook:
    """An HTTP server on 127.0.0.1 and a random port that keeps every JSON body POSTed to it."""

    def __init__(self, status: int = 200) -> None:
        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"content_type": self.headers["Content-Type"], "json": json.loads(body)})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _clock() -> Any:
    ticks = iter(range(1000))
    return lambda: T0 + timedelta(minutes=next(ticks))


HALT = NewAlert(
    AlertSeverity.CRITICAL, AlertSource.KILL_SWITCH, "kill switch global: HALTED", None, {"scope": "global"}
)


def test_raise_when_webhook_configured_stores_logs_and_posts_the_row(
    store: RuntimeStore, caplog: pytest.LogCaptureFixture
) -> None:
    new = NewAlert(AlertSeverity.WARNING, AlertSource.BROKER, "broker ib degraded", Market.US_EQ, {"code": 1100})
    with Webhook() as hook, caplog.at_level(logging.INFO, logger="prometheus.alerts"):
        alert = Alerter(store, hook.url, clock=_clock()).raise_alert(new)
    assert (alert.ts, alert.severity, alert.source, alert.market) == (T0, AlertSeverity.WARNING, "broker", "US_EQ")
    assert alert.details == {"code": 1100}
    assert not alert.acknowledged
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert f"ALERT {alert.id} WARNING [broker] US_EQ: broker ib degraded" in caplog.text
    assert hook.received == [{"content_type": "application/json", "json": {
        "id": alert.id, "ts": T0.isoformat(), "severity": "WARNING", "source": "broker", "market": "US_EQ",
        "message": "broker ib degraded", "details": {"code": 1100}}}]  # fmt: skip
    assert tuple(hook.received[0]["json"]) == ALERT_PAYLOAD_FIELDS


@pytest.mark.parametrize("failure", ["http_500", "nothing_listening"])
def test_raise_when_webhook_fails_keeps_the_row_and_warns(
    sqlite_store: RuntimeStore, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    store = sqlite_store
    with Webhook(status=500) as hook:
        url = hook.url
        if failure == "http_500":
            with caplog.at_level(logging.WARNING, logger="prometheus.alerts"):
                alert = Alerter(store, url, clock=_clock()).raise_alert(HALT)
            assert len(hook.received) == 1
    if failure == "nothing_listening":  # the server is closed: the port refuses connections
        with caplog.at_level(logging.WARNING, logger="prometheus.alerts"):
            alert = Alerter(store, url, clock=_clock(), timeout_s=2.0).raise_alert(HALT)
    assert [a.id for a in list_alerts(store)] == [alert.id]
    assert f"alert {alert.id}: webhook" in caplog.text
    assert "failed" in caplog.text


def test_raise_when_no_webhook_posts_nothing_and_post_says_so(sqlite_store: RuntimeStore) -> None:
    store = sqlite_store
    alerter = Alerter(store, None, clock=_clock())
    alert = alerter.raise_alert(HALT)
    assert alerter.post(alert) is False
    assert list_alerts(store)[0].message == "kill switch global: HALTED"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "http://"])
def test_alerter_when_webhook_is_not_http_is_refused(sqlite_store: RuntimeStore, url: str) -> None:
    with pytest.raises(ConfigError, match="not an http"):
        Alerter(sqlite_store, url)


def test_list_when_filtered_shows_open_alerts_newest_first_and_all_with_include(store: RuntimeStore) -> None:
    alerter = Alerter(store, clock=_clock())
    us = alerter.raise_alert(NewAlert(AlertSeverity.INFO, AlertSource.MARKET_CYCLE, "us", Market.US_EQ))
    eu = alerter.raise_alert(NewAlert(AlertSeverity.WARNING, AlertSource.QC_CHECK, "eu", Market.EU_EQ))
    halt = alerter.raise_alert(HALT)
    acknowledge(store, eu.id, "ops", clock=lambda: T0 + timedelta(hours=1))
    assert [a.id for a in list_alerts(store)] == [halt.id, us.id]
    assert [a.id for a in list_alerts(store, include_acknowledged=True)] == [halt.id, eu.id, us.id]
    assert [a.id for a in list_alerts(store, include_acknowledged=True, market=Market.EU_EQ)] == [eu.id]
    assert [a.id for a in list_alerts(store, market=Market.EU_EQ)] == []


def test_acknowledge_when_repeated_keeps_the_first_and_unknown_id_is_an_error(store: RuntimeStore) -> None:
    alert = Alerter(store, clock=_clock()).raise_alert(HALT)
    first = acknowledge(store, alert.id, "alice", clock=lambda: T0 + timedelta(hours=1))
    second = acknowledge(store, alert.id, "bob", clock=lambda: T0 + timedelta(hours=2))
    assert (first.acknowledged_by, first.acknowledged_at) == ("alice", T0 + timedelta(hours=1))
    assert (second.acknowledged_by, second.acknowledged_at) == ("alice", T0 + timedelta(hours=1))
    with pytest.raises(UnknownAlert, match=f"no alert with id {alert.id + 1}"):
        acknowledge(store, alert.id + 1, "alice")
    with pytest.raises(ConfigError, match="needs a name"):
        acknowledge(store, alert.id, " ")
