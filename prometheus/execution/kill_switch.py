"""Kill switch: ACTIVE / REDUCING / HALTED kept in ``risk_state`` so that every process sees the same state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from prometheus.core.time import utc_now
from prometheus.execution.risk_limits import RiskLimits
from prometheus.execution.types import TradingState
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables.execution import risk_state

#: Scope of the platform-wide switch.
GLOBAL_SCOPE = "global"

_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


@dataclass(frozen=True, slots=True)
class StateChange:
    """One row of ``risk_state``."""

    state: TradingState
    reason: str
    set_by: str
    set_at: datetime


def breach_reason(limits: RiskLimits, equity: float, peak_equity: float, day_start_equity: float) -> str:
    """Which loss limit is breached (empty string: none). Drawdown is from the peak, loss from the day's start."""
    if limits.max_drawdown is not None and peak_equity > 0:
        drawdown = 1.0 - equity / peak_equity
        if drawdown >= limits.max_drawdown:
            return f"drawdown {drawdown:.2%} >= limit {limits.max_drawdown:.2%}"
    if limits.max_daily_loss is not None and day_start_equity > 0:
        loss = 1.0 - equity / day_start_equity
        if loss >= limits.max_daily_loss:
            return f"daily loss {loss:.2%} >= limit {limits.max_daily_loss:.2%}"
    return ""


class KillSwitch:
    """Reads and writes the kill-switch state of one scope; every change is a new row (history kept).

    Parameters
    ----------
    store
        The runtime store (migrated).
    scope
        ``global`` or an account / experiment id.
    clock
        Returns the current UTC time (injected for deterministic tests).
    """

    def __init__(self, store: RuntimeStore, scope: str = GLOBAL_SCOPE, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.scope = scope
        self._clock = clock

    def state(self) -> TradingState:
        """The state in force (ACTIVE when the scope has no row yet)."""
        latest = self.history(limit=1)
        return latest[0].state if latest else TradingState.ACTIVE

    def __call__(self) -> TradingState:
        return self.state()

    def set(self, state: TradingState, reason: str, set_by: str) -> StateChange:
        """Record a new state with its reason and author."""
        change = StateChange(TradingState(state), reason, set_by, self._clock())
        with self.store.begin() as conn:
            conn.execute(
                sa.insert(risk_state).values(
                    scope=self.scope,
                    state=change.state.value,
                    reason=reason,
                    set_by=set_by,
                    set_at=change.set_at,
                )
            )
        return change

    def history(self, limit: int | None = None) -> list[StateChange]:
        """Changes, newest first."""
        stmt = (
            sa.select(risk_state.c.state, risk_state.c.reason, risk_state.c.set_by, risk_state.c.set_at)
            .where(risk_state.c.scope == self.scope)
            .order_by(risk_state.c.set_at.desc(), risk_state.c.id.desc())
            .limit(limit)
        )
        with self.store.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [StateChange(TradingState(r.state), r.reason, r.set_by, r.set_at) for r in rows]

    def trip_if_breached(
        self, limits: RiskLimits, equity: float, peak_equity: float, day_start_equity: float
    ) -> StateChange | None:
        """Move to ``limits.breach_state`` when a loss limit is breached; never loosens the state."""
        reason = breach_reason(limits, equity, peak_equity, day_start_equity)
        if not reason or _SEVERITY[self.state()] >= _SEVERITY[limits.breach_state]:
            return None
        return self.set(limits.breach_state, reason, set_by="risk-limits")
