"""ExecutionStore: orders, order events, fills, positions, cash and rejections in the runtime store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.execution.risk_gate import RejectionRecord
from prometheus.execution.state_machine import Order
from prometheus.execution.types import (
    Fill,
    OrderEvent,
    OrderEventType,
    OrderIntent,
    OrderRef,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables.execution import cash, fills, order_events, orders, positions, risk_rejections


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """Positions and cash of an account at the close of ``session`` (``as_of``: when they were known)."""

    session: date
    positions: Mapping[str, Position]
    cash: float
    as_of: datetime
    equity: float | None = None


@dataclass(frozen=True, slots=True)
class ExecutionContext:
    """Identity columns shared by the rows one process writes."""

    market: Market
    experiment: str
    config_version: str


class ExecutionStore:
    """Writes and reads execution rows; every write is an idempotent upsert except rejections (append-only)."""

    def __init__(self, store: RuntimeStore, context: ExecutionContext) -> None:
        self.store = store
        self.ctx = context

    def _ids(self, session: date, decision_time: datetime | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {
            "market": self.ctx.market.value,
            "session": session,
            "experiment": self.ctx.experiment,
            "config_version": self.ctx.config_version,
        }
        if decision_time is not None:
            row["decision_time"] = decision_time
        return row

    def save_orders(self, items: Iterable[Order], decision_time: datetime) -> int:
        """Upsert each order's latest state and all its events (keyed by order_ref and the event's position)."""
        with self.store.begin() as conn:
            return self._save_orders(list(items), decision_time, conn)

    def _save_orders(self, items: Sequence[Order], decision_time: datetime, conn: sa.Connection) -> int:
        now = utc_now()
        order_rows, event_rows = [], []
        for o in items:
            order_rows.append(
                self._ids(o.session, decision_time)
                | {
                    "order_ref": o.ref.value,
                    "instrument": o.instrument,
                    "side": o.side.value,
                    "quantity": o.quantity,
                    "order_type": o.order_type.value,
                    "limit_price": o.limit_price,
                    "intent": o.intent.value,
                    "status": o.status.value,
                    "filled_quantity": o.filled_quantity,
                    "average_fill_price": o.average_fill_price,
                    "updated_at": now,
                }
            )
            event_rows += [_event_row(ev, seq, self.ctx.experiment) for seq, ev in enumerate(o.events)]
        self.store.upsert(orders, order_rows, connection=conn)
        self.store.upsert(order_events, event_rows, connection=conn)
        return len(order_rows)

    def record_execution(self, items: Sequence[Order], fills_seen: Sequence[Fill], decision_time: datetime) -> int:
        """Orders, their events and their fills in one transaction, each row keyed so a rewrite replaces it.

        For a broker that outlives no process (PAPER / LIVE): the fill rows are derived from the orders' fill
        events, ``seq`` being the fill's position among its order's fills. An order rebuilt by
        :meth:`load_order` replays the same events in the same order, so a fill recorded before a crash keeps
        its key and is replaced, never added twice, when the next process records it again, and a fill the
        broker reports once more (``reqExecutions`` after a reconnect) cannot make a second row. ``fills_seen``
        supplies commissions and costs (matched by time, quantity and price); a fill whose commission report has
        not arrived is written with zero costs and completed by the next call. Returns the number of fill rows.
        """
        costs: dict[tuple[str, datetime, float, float], list[Fill]] = {}
        for f in fills_seen:
            costs.setdefault((f.ref.value, f.ts, f.quantity, f.price), []).append(f)
        known, unknown = [], []
        for o in items:
            fill_events = [e for e in o.events if e.kind in (OrderEventType.PARTIAL_FILL, OrderEventType.FILL)]
            for seq, ev in enumerate(fill_events):
                price = ev.price if ev.price is not None else 0.0
                # Identical executions (same second, shares and price) carry identical costs: any match will do.
                bucket = costs.get((o.ref.value, ev.ts, ev.quantity, price), [])
                seen = bucket.pop(0) if bucket else None
                row = self._ids(o.session, decision_time) | {
                    "order_ref": o.ref.value, "seq": seq, "instrument": o.instrument, "side": o.side.value,
                    "quantity": ev.quantity, "price": price, "ts": ev.ts,
                    "commission": seen.commission if seen else 0.0, "fees": seen.fees if seen else 0.0,
                    "spread_cost": seen.spread_cost if seen else 0.0, "impact_cost": seen.impact_cost if seen else 0.0,
                }  # fmt: skip
                (known if seen else unknown).append(row)
        with self.store.begin() as conn:
            self._save_orders(items, decision_time, conn)
            self.store.upsert(fills, known, connection=conn)
            # Without its Fill here (booked by an earlier process, or its commission still to come) a fill row is
            # only inserted if absent, so costs recorded earlier are never overwritten with zeros.
            self.store.upsert(fills, unknown, replace=False, connection=conn)
        return len(known) + len(unknown)

    def working_orders(self) -> list[Order]:
        """Orders of this experiment not yet terminal (NEW included: it may have reached the broker before a
        crash), rebuilt from their events, oldest first: what a restarted process must re-link at the broker.

        Feeds the IB broker's ``order_source``. Scoped to this store's market and experiment, like every row it
        writes back.
        """
        open_states = [s.value for s in OrderStatus if not s.is_terminal]
        stmt = (
            sa.select(orders.c.order_ref)
            .where(
                orders.c.experiment == self.ctx.experiment,
                orders.c.market == self.ctx.market.value,
                orders.c.status.in_(open_states),
            )
            .order_by(orders.c.id)
        )
        with self.store.engine.connect() as conn:
            refs = list(conn.execute(stmt).scalars())
        return [o for r in refs if (o := self.load_order(OrderRef(r))) is not None]

    def order_statuses(self, refs: Iterable[OrderRef]) -> dict[OrderRef, OrderStatus]:
        """Stored status of each of ``refs`` that has an order row."""
        values = [r.value for r in refs]
        if not values:
            return {}
        stmt = sa.select(orders.c.order_ref, orders.c.status).where(orders.c.order_ref.in_(values))
        with self.store.engine.connect() as conn:
            return {OrderRef(r.order_ref): OrderStatus(r.status) for r in conn.execute(stmt)}

    def fill_rows(self, session: date | None = None) -> list[dict[str, Any]]:
        """Fill rows of this experiment and market (one session when given), by order and seq."""
        stmt = sa.select(fills).where(
            fills.c.experiment == self.ctx.experiment, fills.c.market == self.ctx.market.value
        )
        if session is not None:
            stmt = stmt.where(fills.c.session == session)
        with self.store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt.order_by(fills.c.order_ref, fills.c.seq))]

    def equity_marks(self, before: date) -> tuple[float | None, float | None]:
        """Peak equity of the snapshots before ``before`` and the equity of the latest of them (None: none)."""
        where = (cash.c.experiment == self.ctx.experiment, cash.c.market == self.ctx.market.value,
                 cash.c.session < before, cash.c.equity.is_not(None))  # fmt: skip
        with self.store.engine.connect() as conn:
            peak = conn.execute(sa.select(sa.func.max(cash.c.equity)).where(*where)).scalar()
            last = conn.execute(
                sa.select(cash.c.equity).where(*where).order_by(cash.c.session.desc()).limit(1)
            ).scalar()
        return (None if peak is None else float(peak)), (None if last is None else float(last))

    def account(self, session: date) -> AccountSnapshot | None:
        """The account snapshot of ``session`` (None when none was saved)."""
        where = (cash.c.experiment == self.ctx.experiment, cash.c.market == self.ctx.market.value,
                 cash.c.session == session)  # fmt: skip
        with self.store.engine.connect() as conn:
            money = conn.execute(sa.select(cash).where(*where)).first()
            if money is None:
                return None
            held = conn.execute(
                sa.select(positions).where(
                    positions.c.experiment == self.ctx.experiment,
                    positions.c.market == self.ctx.market.value,
                    positions.c.session == session,
                )
            ).all()
        return AccountSnapshot(
            session,
            {p.instrument: Position(p.instrument, p.quantity, p.cost_basis) for p in held},
            money.balance,
            money.as_of,
            money.equity,
        )

    def save_fills(self, items: Sequence[Fill], decision_time: datetime) -> int:
        """Upsert fills; ``seq`` numbers the fills of each order in the given order."""
        seq: dict[str, int] = {}
        rows = []
        for f in items:
            n = seq.get(f.ref.value, 0)
            seq[f.ref.value] = n + 1
            rows.append(
                self._ids(f.session, decision_time)
                | {
                    "order_ref": f.ref.value,
                    "seq": n,
                    "instrument": f.instrument,
                    "side": f.side.value,
                    "quantity": f.quantity,
                    "price": f.price,
                    "ts": f.ts,
                    "commission": f.commission,
                    "fees": f.fees,
                    "spread_cost": f.spread_cost,
                    "impact_cost": f.impact_cost,
                }
            )
        return self.store.upsert(fills, rows)

    def save_account(
        self,
        session: date,
        held: Mapping[str, Position],
        balance: float,
        as_of: datetime,
        equity: float | None = None,
        currency: str = "USD",
    ) -> None:
        """Snapshot positions and cash of ``session`` (replaces that session's snapshot)."""
        self.save_accounts([AccountSnapshot(session, held, balance, as_of, equity)], currency)

    def save_accounts(self, snapshots: Sequence[AccountSnapshot], currency: str = "USD") -> None:
        """Snapshots of several sessions in one transaction (each replaces its session's snapshot)."""
        if not snapshots:
            return
        pos_rows, cash_rows = [], []
        for snap in snapshots:
            ids = self._ids(snap.session)
            pos_rows += [ids | {"instrument": p.instrument, "quantity": p.quantity, "cost_basis": p.cost_basis,
                                "as_of": snap.as_of} for p in snap.positions.values()]  # fmt: skip
            cash_rows.append(ids | {"currency": currency, "balance": snap.cash, "equity": snap.equity,
                                    "as_of": snap.as_of})  # fmt: skip
        with self.store.begin() as conn:
            conn.execute(
                sa.delete(positions).where(
                    positions.c.experiment == self.ctx.experiment,
                    positions.c.market == self.ctx.market.value,
                    positions.c.session.in_([s.session for s in snapshots]),
                )
            )
            self.store.upsert(positions, pos_rows, connection=conn)
            self.store.upsert(cash, cash_rows, connection=conn)

    def record_rejections(self, records: Sequence[RejectionRecord]) -> None:
        """Append RiskGate rejections (the :class:`RejectionRecorder` protocol)."""
        rows = [
            self._ids(r.order.session, r.ts)
            | {
                "ts": r.ts,
                "order_ref": r.order.ref.value,
                "instrument": r.order.instrument,
                "side": r.order.side.value,
                "quantity": r.order.quantity,
                "rule": r.rule,
                "code": r.rejection.code.value,
                "message": r.rejection.message,
                "details": dict(r.rejection.values),
            }
            for r in records
        ]
        if rows:
            with self.store.begin() as conn:
                conn.execute(sa.insert(risk_rejections), rows)

    def known_refs(self, refs: Iterable[OrderRef]) -> set[OrderRef]:
        """Which of ``refs`` already have an order row (a resend after a crash)."""
        values = [r.value for r in refs]
        if not values:
            return set()
        with self.store.engine.connect() as conn:
            found = conn.execute(sa.select(orders.c.order_ref).where(orders.c.order_ref.in_(values))).scalars()
            return {OrderRef(v) for v in found}

    def load_order(self, ref: OrderRef) -> Order | None:
        """Rebuild an order from its row and replay its events through the state machine."""
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(orders).where(orders.c.order_ref == ref.value)).one_or_none()
            if row is None:
                return None
            evs = conn.execute(
                sa.select(order_events).where(order_events.c.order_ref == ref.value).order_by(order_events.c.seq)
            ).all()
        order = Order(
            ref=ref,
            instrument=row.instrument,
            side=Side(row.side),
            # The row holds the latest quantity. Replaying from it is exact: a modify never goes below the
            # filled quantity, so every fill before a MODIFIED also fits inside the latest quantity.
            quantity=row.quantity,
            order_type=OrderType(row.order_type),
            session=row.session,
            limit_price=row.limit_price,
            intent=OrderIntent(row.intent),
        )
        for e in evs:
            order.apply(OrderEvent(ref, OrderEventType(e.kind), e.ts, e.quantity, e.price, e.reason))
        return order

    def rejections(self) -> list[dict[str, Any]]:
        """Rejection rows of this experiment, oldest first."""
        stmt = (
            sa.select(risk_rejections)
            .where(risk_rejections.c.experiment == self.ctx.experiment)
            .order_by(risk_rejections.c.id)
        )
        with self.store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]


def _event_row(ev: OrderEvent, seq: int, experiment: str) -> dict[str, Any]:
    return {
        "order_ref": ev.ref.value,
        "seq": seq,
        "kind": ev.kind.value,
        "ts": ev.ts,
        "quantity": ev.quantity,
        "price": ev.price,
        "reason": ev.reason,
        "experiment": experiment,
    }
