"""Connectivity from IB system messages, without a kill switch (with one: see test_broker)."""

from __future__ import annotations

from prometheus.execution.brokers.ib.connectivity import Connectivity


def test_on_error_when_1100_degrades_and_1102_restores_keeping_data() -> None:
    c = Connectivity()
    c.on_error(1100, "lost")
    assert c.degraded
    assert c.reason == "IB 1100: lost"
    c.on_error(1102, "restored - data maintained")
    assert not c.degraded
    assert not c.resubscribe_needed


def test_on_error_when_1101_restores_and_asks_to_resubscribe() -> None:
    c = Connectivity()
    c.lost("socket closed")
    c.on_error(1100, "lost")  # the first reason is kept
    assert c.reason == "socket closed"
    c.on_error(1101, "restored - data lost")
    assert not c.degraded
    assert c.resubscribe_needed


def test_on_error_when_other_code_changes_nothing() -> None:
    c = Connectivity()
    c.on_error(2104, "Market data farm connection is OK")
    assert not c.degraded
