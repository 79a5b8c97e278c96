"""``market_states``: every market-state transition the sensors observe, once per (market, instant)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from prometheus.core.types import Market, MarketState
from prometheus.orchestration.market_watch import ObservedTransition
from prometheus.runtime.store import RuntimeStore, upsert_statement
from prometheus.runtime.tables.meta import market_states


@dataclass(frozen=True, slots=True)
class MarketStateRow:
    """One row of ``market_states``."""

    market: Market
    ts: datetime
    state: MarketState
    session: date | None
    recorded_at: datetime


def record_transitions(store: RuntimeStore, transitions: Sequence[ObservedTransition]) -> int:
    """Insert the transitions not yet recorded (the key is market + ts); returns how many were new.

    Insert-if-absent rather than replace: the first observation of a transition is the one kept, with its
    ``recorded_at``, however many sensors or ticks see it again.
    """
    if not transitions:
        return 0
    rows = [{"market": t.market.value, "ts": t.at, "state": t.state.value, "session": t.session} for t in transitions]
    stmt = upsert_statement(market_states, replace=False, dialect=store.dialect).returning(market_states.c.id)
    # One statement per row: ON CONFLICT DO NOTHING RETURNING gives a row only for an insert, on both backends
    # (psycopg reports no rowcount for it).
    with store.begin() as conn:
        return sum(len(conn.execute(stmt, row).all()) for row in rows)


def list_transitions(
    store: RuntimeStore, market: Market | None = None, since: datetime | None = None
) -> list[MarketStateRow]:
    """Recorded transitions, oldest first, optionally of one market and from ``since``."""
    stmt = sa.select(market_states).order_by(market_states.c.ts, market_states.c.market)
    if market is not None:
        stmt = stmt.where(market_states.c.market == market.value)
    if since is not None:
        stmt = stmt.where(market_states.c.ts >= since)
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    return [MarketStateRow(Market(r.market), r.ts, MarketState(r.state), r.session, r.recorded_at) for r in rows]
