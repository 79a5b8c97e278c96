"""Connectivity changes reach the operator's hook (alerts), and a failing hook never blocks the broker's state."""

from __future__ import annotations

from prometheus.execution.brokers.ib.connectivity import CONNECTIVITY_LOST, RESTORED_DATA_KEPT, Connectivity


def test_connectivity_when_lost_and_restored_calls_the_hook_once_each() -> None:
    heard: list[tuple[bool, str]] = []
    c = Connectivity(on_change=lambda degraded, reason: heard.append((degraded, reason)))
    c.on_error(CONNECTIVITY_LOST, "Connectivity between IB and TWS has been lost")
    c.on_error(CONNECTIVITY_LOST, "again")  # still degraded: no second alert
    c.on_error(RESTORED_DATA_KEPT, "restored")
    assert [d for d, _ in heard] == [True, False]
    assert "1100" in heard[0][1]
    assert "restored after" in heard[1][1]


def test_connectivity_when_hook_fails_still_degrades_and_restores() -> None:
    def broken(degraded: bool, reason: str) -> None:
        raise RuntimeError("alerts table unreachable")

    c = Connectivity(on_change=broken)
    c.lost("socket closed")
    assert c.degraded
    c.restored(data_lost=True)
    assert not c.degraded
    assert c.resubscribe_needed
