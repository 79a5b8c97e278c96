"""IB's pacing rules for historical-data requests, as a limiter with an injectable clock.

IB answers a request that breaks its pacing rules with error 162 ("Historical data request pacing violation")
and, when it happens repeatedly, disconnects the client. The rules (IB's "historical data limitations"): no more
than 60 requests in any 10 minutes; no identical request within 15 seconds; six or more requests for the same
contract, exchange and tick type within 2 seconds are a violation. :class:`PacingLimiter` waits before each request
so that none is broken; a violation that still happens (another client of the same login, IB counting
differently) is retried after an exponential backoff (:meth:`PacingLimiter.backoff`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from pydantic import Field

from prometheus.core.config import VersionedConfig


class PacingRules(VersionedConfig):
    """IB's limits on historical-data requests, and how a violation is retried."""

    kind: ClassVar[str] = "ib_pacing"

    max_requests: int = Field(60, ge=1, description="Requests allowed in any window of window_s seconds.")
    window_s: float = Field(600.0, gt=0, description="The sliding window of max_requests (IB: 10 minutes).")
    identical_gap_s: float = Field(15.0, ge=0, description="Least time between two identical requests.")
    # IB: "six or more requests for the same contract, exchange and tick type within two seconds" violate, so at
    # most five may go in any 2 s.
    per_contract_max: int = Field(5, ge=1, description="Requests for one contract and tick type per window.")
    per_contract_window_s: float = Field(2.0, gt=0, description="The window of per_contract_max.")
    backoff_s: float = Field(15.0, ge=0, description="Wait after the first pacing violation; doubles each time.")
    max_backoff_s: float = Field(600.0, ge=0, description="Longest wait after a violation.")
    max_retries: int = Field(5, ge=0, description="Retries of one request after pacing violations.")


@dataclass(frozen=True)
class HistoryRequest:
    """One reqHistoricalData call: ``days`` calendar days of bars ending with the session ``end``."""

    symbol: str
    end: date
    days: int
    what_to_show: str = "TRADES"
    bar_size: str = "1 day"
    use_rth: bool = True

    @property
    def contract_key(self) -> tuple[str, str]:
        """What IB's per-contract rule counts: the contract and the tick type (the exchange is SMART for all)."""
        return (self.symbol, self.what_to_show)


class PacingLimiter:
    """Spaces requests so that none breaks :class:`PacingRules`.

    Parameters
    ----------
    rules
        The limits.
    clock
        Monotonic seconds (default ``time.monotonic``); tests pass a fake one.
    sleep
        Waits that many seconds (default ``time.sleep``); a fake clock's sleep advances it.
    """

    def __init__(
        self,
        rules: PacingRules | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rules = rules or PacingRules()
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[tuple[float, HistoryRequest]] = deque()
        #: Seconds waited in total (pacing and backoff), for the report.
        self.waited_s = 0.0

    def delay(self, request: HistoryRequest) -> float:
        """Seconds to wait before ``request`` may be sent (0 when it may go now)."""
        r, now = self.rules, self._clock()
        self._forget(now)
        waits = [0.0]
        if len(self._sent) >= r.max_requests:
            # The request that must leave the window before one more fits.
            waits.append(self._sent[len(self._sent) - r.max_requests][0] + r.window_s - now)
        same = [t for t, q in self._sent if q == request]
        if same:
            waits.append(same[-1] + r.identical_gap_s - now)
        since = now - r.per_contract_window_s
        contract = [t for t, q in self._sent if q.contract_key == request.contract_key and t > since]
        if len(contract) >= r.per_contract_max:
            waits.append(contract[len(contract) - r.per_contract_max] + r.per_contract_window_s - now)
        return max(waits)

    def acquire(self, request: HistoryRequest) -> float:
        """Wait until ``request`` may be sent, then count it as sent now; returns the seconds waited."""
        waited = 0.0
        # A loop, not one wait: a fake or coarse clock may wake a hair early.
        while (pause := self.delay(request)) > 0:
            self._sleep(pause)
            waited += pause
        self._sent.append((self._clock(), request))
        self.waited_s += waited
        return waited

    def backoff(self, attempt: int) -> float:
        """Wait after the ``attempt``-th pacing violation of a request (1, 2, ...); returns the seconds waited."""
        pause = min(self.rules.backoff_s * 2 ** (attempt - 1), self.rules.max_backoff_s)
        self._sleep(pause)
        self.waited_s += pause
        return pause

    def _forget(self, now: float) -> None:
        # Nothing older than the longest rule's window can delay a request.
        horizon = now - max(self.rules.window_s, self.rules.identical_gap_s, self.rules.per_contract_window_s)
        while self._sent and self._sent[0][0] <= horizon:
            self._sent.popleft()
