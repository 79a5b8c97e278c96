"""PacingLimiter: IB's three historical-data pacing rules, on a fake clock whose sleep advances it."""

from __future__ import annotations

from datetime import date

import pytest

from prometheus.core.errors import ConfigError
from prometheus.data.ingest.ib_pacing import HistoryRequest, PacingLimiter, PacingRules


class FakeClock:
    """Monotonic seconds that move only when slept on; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _limiter(**rules: float) -> tuple[PacingLimiter, FakeClock]:
    clock = FakeClock()
    return PacingLimiter(PacingRules(**rules), clock=clock, sleep=clock.sleep), clock


def _req(symbol: str = "AAA", day: int = 1) -> HistoryRequest:
    return HistoryRequest(symbol, date(2024, 1, day), 30)


def test_acquire_when_identical_request_repeats_waits_fifteen_seconds() -> None:
    limiter, clock = _limiter()
    assert limiter.acquire(_req()) == 0.0
    clock.now += 4.0
    assert limiter.acquire(_req()) == pytest.approx(11.0)
    assert clock.now == pytest.approx(1015.0)


def test_acquire_when_sixth_request_for_one_contract_within_two_seconds_waits() -> None:
    limiter, clock = _limiter()
    for day in range(1, 6):  # five different requests for AAA at the same instant: allowed
        assert limiter.acquire(_req(day=day)) == 0.0
    assert limiter.delay(_req("BBB")) == 0.0  # another contract is not held back
    assert limiter.acquire(_req(day=6)) == pytest.approx(2.0)
    assert clock.sleeps == [pytest.approx(2.0)]


def test_acquire_when_sixty_requests_in_ten_minutes_waits_for_the_oldest_to_leave() -> None:
    limiter, clock = _limiter()
    for k in range(60):
        limiter.acquire(_req(f"S{k}"))
        clock.now += 1.0
    # The first went at 1000 s; the 61st may go at 1600 s, the clock reads 1060 s.
    assert limiter.delay(_req("LAST")) == pytest.approx(540.0)
    limiter.acquire(_req("LAST"))
    assert clock.now == pytest.approx(1600.0)
    assert limiter.waited_s == pytest.approx(540.0)


def test_acquire_when_requests_keep_coming_never_breaks_any_rule() -> None:
    limiter, clock = _limiter(max_requests=10, window_s=60.0)
    sent: list[tuple[float, HistoryRequest]] = []
    for k in range(40):
        request = _req(f"S{k % 3}", day=1 + k % 2)
        limiter.acquire(request)
        sent.append((clock.now, request))
    for i, (t, q) in enumerate(sent):
        later = [(u, r) for u, r in sent[i + 1 :]]
        assert sum(1 for u, _ in later if u < t + 60.0) < 10
        assert all(u >= t + 15.0 for u, r in later if r == q)
        assert sum(1 for u, r in later if r.contract_key == q.contract_key and u < t + 2.0) < 5


def test_backoff_when_violations_repeat_doubles_up_to_the_maximum() -> None:
    limiter, clock = _limiter(backoff_s=10.0, max_backoff_s=35.0)
    assert [limiter.backoff(n) for n in (1, 2, 3, 4)] == [10.0, 20.0, 35.0, 35.0]
    assert clock.sleeps == [10.0, 20.0, 35.0, 35.0]


def test_rules_when_unknown_key_given_are_rejected() -> None:
    with pytest.raises(ConfigError, match="max_request"):
        PacingRules.from_mapping({"max_request": 10})
