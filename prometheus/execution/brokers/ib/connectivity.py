"""Connection health from IB's system messages: degraded while TWS has lost IB, REDUCING while degraded."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from prometheus.execution.kill_switch import KillSwitch
from prometheus.execution.types import TradingState

_log = logging.getLogger(__name__)

#: IB system messages (error callback with reqId -1).
CONNECTIVITY_LOST: Final = 1100  # TWS / Gateway lost its connection to IB
RESTORED_DATA_LOST: Final = 1101  # back; market data subscriptions are gone and must be requested again
RESTORED_DATA_KEPT: Final = 1102  # back; subscriptions kept


class Connectivity:
    """Whether new orders may go out, from 1100 / 1101 / 1102 and socket drops.

    While degraded the broker sends no new orders; with a kill switch, an ACTIVE switch is moved to REDUCING and
    moved back to ACTIVE on restore, but only if this object moved it (an operator's HALTED or REDUCING stays).
    ``on_change(degraded, reason)`` hears every change (the operator's alerts); its failure never stops the broker.
    """

    def __init__(
        self,
        kill_switch: KillSwitch | None = None,
        set_by: str = "ib_broker",
        on_change: Callable[[bool, str], None] | None = None,
    ) -> None:
        self.reason = ""
        self._on_change = on_change
        self.resubscribe_needed = False
        self._kill = kill_switch
        self._set_by = set_by
        self._reduced_by_us = False

    @property
    def degraded(self) -> bool:
        """True from a loss until it is restored."""
        return bool(self.reason)

    def on_error(self, code: int, text: str) -> None:
        """Feed one IB error / system message (codes other than 1100-1102 are ignored)."""
        if code == CONNECTIVITY_LOST:
            self.lost(f"IB {code}: {text}")
        elif code in (RESTORED_DATA_LOST, RESTORED_DATA_KEPT):
            self.restored(data_lost=code == RESTORED_DATA_LOST)

    def lost(self, reason: str) -> None:
        """Connectivity is gone: stop new orders (the first reason is kept)."""
        if self.degraded:
            return
        self.reason = reason
        _log.warning("IB connectivity degraded: %s; no new orders", reason)
        if self._kill is not None and self._kill.state() is TradingState.ACTIVE:
            self._kill.set(TradingState.REDUCING, f"IB connectivity lost: {reason}", self._set_by)
            self._reduced_by_us = True
        self._notify(True, reason)

    def restored(self, data_lost: bool) -> None:
        """Connectivity is back; ``data_lost``: market data must be requested again."""
        was = self.reason
        self.reason = ""
        self.resubscribe_needed = self.resubscribe_needed or data_lost
        if was:
            _log.info("IB connectivity restored after: %s", was)
            self._notify(False, f"restored after: {was}")
        if self._reduced_by_us and self._kill is not None and self._kill.state() is TradingState.REDUCING:
            self._kill.set(TradingState.ACTIVE, "IB connectivity restored", self._set_by)
        self._reduced_by_us = False

    def _notify(self, degraded: bool, reason: str) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(degraded, reason)
        except Exception:  # an alert that cannot be written must not take the connection state with it
            _log.exception("IB connectivity hook failed (degraded=%s: %s)", degraded, reason)
