"""Execute one session's target portfolio at a live broker (PAPER / LIVE): plan, gate, de-duplicate, send, record.

The flow of :func:`execute_session`, each step safe to repeat after a crash at any point:

1. Reconcile: the orders earlier runs left working (the store's :meth:`~ExecutionStore.working_orders`) are
   re-linked at the broker, what happened while no process watched them is booked (missed fills once), and the
   result is recorded; orders at the broker we did not send are reported (foreign).
2. Read the account (positions, cash, net liquidation) and the broker's snapshot quotes; a name without a quote
   falls back to its last close only when that close is at most ``max_close_age_s`` old, otherwise the RiskGate
   sees no trusted price for it and refuses its order.
3. Plan with the :class:`OrderPlanner` against positions plus what working orders still add, and drop every order
   whose deterministic ``order_ref`` the store or the broker already knows (sent by an earlier run).
4. Pass the rest through the :class:`RiskGate` (kill switch from ``risk_state``; rejections recorded), write them
   as NEW *before* sending (so a crash after the send still leaves a row a restart re-links by orderRef), send.
5. Wait up to ``wait_s`` for fills, recording orders, events and fills as they arrive, then the account snapshot.

Order and event rows are keyed by ``order_ref`` and event position, fill rows by ``order_ref`` and fill position
(:meth:`ExecutionStore.record_execution`), so every write replaces itself and nothing is recorded twice.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import ClassVar, Protocol

import sqlalchemy as sa
from pydantic import Field

from prometheus.calendar import TradingCalendar
from prometheus.core.config import VersionedConfig
from prometheus.core.errors import BrokerError, DataError, StoreError
from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import TimeMachine
from prometheus.execution.broker import Broker
from prometheus.execution.kill_switch import KillSwitch, StateChange
from prometheus.execution.planner import OrderPlanner, PlannerConfig, PlanningInput
from prometheus.execution.risk_gate import AccountView, Quote, RejectionRecord, RiskGate
from prometheus.execution.risk_limits import RiskLimits
from prometheus.execution.state_machine import Order
from prometheus.execution.store import ExecutionStore
from prometheus.execution.types import OrderRef, OrderStatus
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables.engine import target_portfolios

#: What a reconciliation that found nothing says.
NOTHING_CHANGED = "nothing changed"
#: Experiment of PAPER / LIVE rows (engine outputs of untagged PAPER / LIVE runs carry it too).
LIVE_EXPERIMENT = "live"


class ForeignOrderLike(Protocol):
    """An order at the broker that we did not send."""

    def describe(self) -> str:
        """One line for logs, alerts and the operator."""
        ...


class Reconciled(Protocol):
    """What a reconciliation reports (the IB broker's ``ReconcileReport``)."""

    @property
    def orders(self) -> Sequence[Order]:
        """Every order that received an event (to be saved)."""
        ...

    @property
    def unsent(self) -> Sequence[OrderRef]:
        """NEW records the broker has no trace of: never sent, free to send."""
        ...

    @property
    def foreign(self) -> Sequence[ForeignOrderLike]:
        """Orders at the broker we did not send."""
        ...

    def lines(self) -> list[str]:
        """A human summary."""
        ...


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The reconciliations of one run (on connect, then now) taken together."""

    unsent: tuple[OrderRef, ...]  # NEW records the broker has no trace of (free to send)
    lines: tuple[str, ...]
    foreign: tuple[str, ...]  # one description per foreign order
    reports: Sequence[Reconciled]


class SessionBroker(Broker, Protocol):
    """What :func:`execute_session` needs beyond :class:`Broker`: the IB broker has it all."""

    account: str | None
    #: The reconciliation run on connect (None before any).
    last_reconcile: Reconciled | None

    @property
    def connected(self) -> bool:
        """True while the broker connection is up."""
        ...

    def snapshot_quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        """Current prices with the time they were observed (names without a price left out)."""
        ...

    def account_summary(self) -> dict[str, float]:
        """Numeric account values (``NetLiquidation`` at least)."""
        ...

    def reconcile(self, known: Iterable[Order]) -> Reconciled:
        """Compare ``known`` (our working records) with the broker's orders and executions; record what happened."""
        ...

    def order(self, ref: OrderRef) -> Order | None:
        """The order with ``ref`` if this broker sent or adopted it."""
        ...

    def wait_for_orders(self, refs: Sequence[OrderRef], timeout: float) -> bool:
        """Wait until every order in ``refs`` is terminal with its fills complete; False on timeout."""
        ...


class ExecuteConfig(VersionedConfig):
    """How a session is executed at a live broker."""

    kind: ClassVar[str] = "live_execution"

    planner: PlannerConfig = Field(default_factory=PlannerConfig, description="Order type, rounding, minimums.")
    max_close_age_s: float = Field(
        36 * 3600.0,
        gt=0,
        description="A name without a snapshot quote may use its last close when the close is at most this old "
        "(seconds); older, the RiskGate gets no trusted price for it and refuses its order.",
    )
    wait_s: float = Field(30.0, ge=0, description="Seconds to wait for fills after sending.")
    poll_s: float = Field(0.5, gt=0, description="While waiting, record what arrived every this many seconds.")


@dataclass(frozen=True, slots=True)
class SessionRequest:
    """What to execute: the session, its target weights (and where they come from), last closes as fallback."""

    session: date
    targets: Mapping[str, float]
    source: str
    closes: Mapping[str, Quote] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """What one :func:`execute_session` run did."""

    market: Market
    session: date
    source: str
    equity: float
    cash: float
    planned: int
    sent: tuple[OrderRef, ...]
    already_sent: tuple[OrderRef, ...]
    reconciliation: tuple[str, ...]
    foreign: tuple[str, ...]
    rejected: tuple[RejectionRecord, ...]
    unpriced: tuple[str, ...]
    price_sources: Mapping[str, str]
    statuses: Mapping[OrderRef, OrderStatus]
    fills: int
    settled: bool
    errors: tuple[str, ...] = ()

    @property
    def still_working(self) -> tuple[OrderRef, ...]:
        """Orders of this run (sent or re-linked) not yet terminal."""
        return tuple(r for r, s in self.statuses.items() if not s.is_terminal)

    def lines(self) -> list[str]:
        """A human summary, one fact per line."""
        out = [
            f"{self.market.value} {self.session}: targets from {self.source}",
            f"account: equity {self.equity:,.2f}, cash {self.cash:,.2f}",
            f"planned {self.planned}, sent {len(self.sent)}, already sent earlier {len(self.already_sent)}, "
            f"rejected by the RiskGate {len(self.rejected)}",
        ]
        out += [f"reconciliation: {line}" for line in self.reconciliation]
        sources: dict[str, int] = {}
        for s in self.price_sources.values():
            sources[s] = sources.get(s, 0) + 1
        if sources:
            out.append("prices: " + ", ".join(f"{n} from {s}" for s, n in sorted(sources.items())))
        if self.unpriced:
            out.append(f"no price at all (not traded): {', '.join(self.unpriced)}")
        out += [f"rejected {r.order.instrument} ({r.order.ref}): {r.rejection.code.value} {r.rejection.message}"
                for r in self.rejected]  # fmt: skip
        counts: dict[str, int] = {}
        for s in self.statuses.values():
            counts[s.value] = counts.get(s.value, 0) + 1
        if counts:
            out.append("orders: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        ended = "settled" if self.settled else "still working when the wait ended"
        out.append(f"fills recorded: {self.fills}; {ended}")
        out += [f"error: {e}" for e in self.errors]
        return out


def execute_session(
    broker: SessionBroker,
    store: ExecutionStore,
    gate: RiskGate,
    request: SessionRequest,
    config: ExecuteConfig,
    clock: Callable[[], datetime] = utc_now,
) -> ExecutionSummary:
    """Execute ``request`` at ``broker`` and record everything in ``store`` (see the module docstring).

    Raises
    ------
    BrokerError
        The broker is not connected, has no account, or reported no net liquidation value.
    DataError
        A target weight is not finite.
    """
    if not broker.connected or not broker.account:
        raise BrokerError("the broker is not connected; connect before executing a session")
    now = clock()
    report = reconcile_and_record(broker, store, now)
    held = {n: p.quantity for n, p in broker.positions().items()}
    projected = dict(held)
    for o in broker.open_orders():  # what still-working orders will add, so nothing is bought twice
        projected[o.instrument] = projected.get(o.instrument, 0.0) + o.side.sign * o.remaining
    cash = broker.cash()
    equity = broker.account_summary().get("NetLiquidation")
    if equity is None or not math.isfinite(equity):
        raise BrokerError("the broker reported no NetLiquidation value; cannot size orders")
    names = sorted(set(request.targets) | {n for n, q in projected.items() if q})
    bad = [n for n in request.targets if not math.isfinite(request.targets[n])]
    if bad:
        raise DataError(f"target weight of {bad[0]} is not finite", field="weight")
    trusted, sizing, sources = price_sources(broker.snapshot_quotes(names), request.closes, now, config.max_close_age_s)
    priced = [n for n in names if n in sizing]
    plan = PlanningInput.from_mappings(
        broker.account,
        request.session,
        target_weights={n: request.targets.get(n, 0.0) for n in priced},
        positions={n: projected.get(n, 0.0) for n in priced},
        prices=sizing,
        equity=equity,
    )
    planned = OrderPlanner(config.planner).plan(plan)
    stored = store.order_statuses(o.ref for o in planned)
    unsent = set(report.unsent)

    def already(ref: OrderRef) -> bool:
        # Known to the broker (sent or re-linked), or recorded by an earlier run; a NEW record the broker has no
        # trace of never left us and may be sent.
        return broker.order(ref) is not None or (ref in stored and ref not in unsent)

    earlier = [o.ref for o in planned if already(o.ref)]
    fresh = [o for o in planned if not already(o.ref)]
    # Reductions first, so the buys they fund are not refused for an exposure the batch never reaches.
    fresh.sort(key=lambda o: abs(projected.get(o.instrument, 0.0) + o.signed_quantity)
               >= abs(projected.get(o.instrument, 0.0)))  # fmt: skip
    result = gate.check(fresh, AccountView(equity, projected, trusted), now)
    session_refs = {o.ref for o in planned}
    touched: dict[OrderRef, Order] = {o.ref: o for r in report.reports for o in r.orders}
    touched |= {o.ref: o for o in broker.open_orders() if o.session == request.session or o.ref in session_refs}
    touched |= {o.ref: o for o in result.passed}
    # Written NEW before sending: a crash after the send leaves a row whose orderRef the next run finds at IB.
    store.record_execution(list(touched.values()), [], now)
    sent, errors = _send(broker, result.passed)
    fills, settled = _wait_and_record(broker, store, touched, config, now)
    net_liq = broker.account_summary().get("NetLiquidation")
    store.save_account(request.session, broker.positions(), broker.cash(), clock(), net_liq)
    return ExecutionSummary(
        market=store.ctx.market,
        session=request.session,
        source=request.source,
        equity=equity,
        cash=cash,
        planned=len(planned),
        sent=tuple(sent),
        already_sent=tuple(earlier),
        reconciliation=report.lines,
        foreign=report.foreign,
        rejected=tuple(result.rejected),
        unpriced=tuple(n for n in names if n not in sizing),
        price_sources=sources,
        statuses={r: (broker.order(r) or o).status for r, o in touched.items()},
        fills=fills,
        settled=settled,
        errors=tuple(errors),
    )


def price_sources(
    quotes: Mapping[str, Quote], closes: Mapping[str, Quote], now: datetime, max_close_age_s: float
) -> tuple[dict[str, Quote], dict[str, float], dict[str, str]]:
    """Trusted quotes for the RiskGate, sizing prices for the planner, and where each price came from.

    A snapshot quote is trusted; a last close is trusted only when at most ``max_close_age_s`` old. An older
    close still sizes the order, but without a trusted price the RiskGate refuses it (NO_TRUSTED_PRICE).
    """
    trusted: dict[str, Quote] = {}
    sizing: dict[str, float] = {}
    sources: dict[str, str] = {}
    for name in sorted(set(quotes) | set(closes)):
        q = quotes.get(name)
        if q is not None and math.isfinite(q.price) and q.price > 0:
            trusted[name], sizing[name], sources[name] = q, q.price, "snapshot"
            continue
        c = closes.get(name)
        if c is None or not math.isfinite(c.price) or c.price <= 0:
            continue
        sizing[name] = c.price
        if (now - c.ts).total_seconds() <= max_close_age_s:
            trusted[name], sources[name] = c, "last close"
        else:
            sources[name] = "stale close (refused)"
    return trusted, sizing, sources


def trip_on_losses(
    broker: SessionBroker, store: ExecutionStore, switch: KillSwitch, limits: RiskLimits, session: date
) -> StateChange | None:
    """Move the kill switch to ``limits.breach_state`` when the account's net liquidation breaches the drawdown
    (from the peak of the recorded snapshots) or the daily loss (from the last snapshot before ``session``).

    Returns the change, or None (no snapshot yet, no breach, or the switch already as strict).
    """
    equity = broker.account_summary().get("NetLiquidation")
    peak, day_start = store.equity_marks(session)
    if equity is None or peak is None or day_start is None:
        return None
    return switch.trip_if_breached(limits, equity, max(peak, equity), day_start)


def reconcile_and_record(broker: SessionBroker, store: ExecutionStore, now: datetime | None = None) -> Reconciliation:
    """Reconcile the store's working orders at the broker now and record every order that changed, with the
    fills booked meanwhile, including the changes of the reconciliation the broker ran when it connected.

    Raises
    ------
    BrokerError
        The broker is not connected, or did not answer.
    """
    reports = [r for r in (broker.last_reconcile,) if r is not None]
    reports.append(broker.reconcile(store.working_orders()))
    changed = {o.ref: o for r in reports for o in r.orders}
    store.record_execution(list(changed.values()), broker.fills(), now or utc_now())
    lines = list(dict.fromkeys(line for r in reports for line in r.lines() if line != NOTHING_CHANGED))
    foreign = list(dict.fromkeys(f.describe() for r in reports for f in r.foreign))
    return Reconciliation(tuple(reports[-1].unsent), tuple(lines) or (NOTHING_CHANGED,), tuple(foreign), reports)


def _send(broker: SessionBroker, orders: Sequence[Order]) -> tuple[list[OrderRef], list[str]]:
    sent: list[OrderRef] = []
    for o in orders:
        try:
            broker.submit(o)
        except BrokerError as exc:
            # Not sent (lost connection, degraded, or already working at IB): stop; the NEW rows stay and the
            # next run re-links or sends them.
            return sent, [str(exc)]
        sent.append(o.ref)
    return sent, []


def _wait_and_record(
    broker: SessionBroker, store: ExecutionStore, touched: Mapping[OrderRef, Order], config: ExecuteConfig,
    decided: datetime,
) -> tuple[int, bool]:  # fmt: skip
    deadline = time.monotonic() + config.wait_s
    refs = list(touched)
    while True:
        left = deadline - time.monotonic()
        settled = broker.wait_for_orders(refs, max(min(config.poll_s, left), 0.0))
        current = [broker.order(r) or o for r, o in touched.items()]
        fills = store.record_execution(current, broker.fills(), decided)
        if settled or left <= 0:
            return fills, settled


def load_session_targets(
    runtime: RuntimeStore, market: Market, session: date, experiment: str = LIVE_EXPERIMENT
) -> tuple[dict[str, float], str]:
    """The target weights of ``session`` in ``target_portfolios`` and a description of their origin.

    When the portfolio ran several times for the session (another promoted config), the latest decision wins.

    Raises
    ------
    DataError
        No target portfolio of ``market`` for ``session`` in ``experiment``.
    """
    t = target_portfolios
    where = (t.c.market == market.value, t.c.session == session, t.c.experiment == experiment)
    with runtime.engine.connect() as conn:
        latest = conn.execute(
            sa.select(t.c.config_version, t.c.decision_time).where(*where)
            .order_by(t.c.decision_time.desc(), t.c.created_at.desc()).limit(1)
        ).first()  # fmt: skip
        if latest is None:
            raise DataError(
                f"no target portfolio of {market.value} for {session} in experiment {experiment!r}: run the "
                "portfolio for that session first, or give the weights with --targets FILE",
                field="target_portfolios",
            )
        rows = conn.execute(
            sa.select(t.c.instrument, t.c.weight).where(*where, t.c.config_version == latest.config_version)
        ).all()
    return {r.instrument: float(r.weight) for r in rows}, f"target_portfolios (config {latest.config_version[:12]})"


def read_targets_csv(path: Path) -> dict[str, float]:
    """``symbol,weight`` rows of an operator's file (a header line, one row per symbol).

    Raises
    ------
    DataError
        Unreadable file, missing columns, a repeated symbol or a weight that is not a finite number.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read targets: {exc.strerror}", file=str(path)) from None
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or {"symbol", "weight"} - {f.strip() for f in reader.fieldnames}:
        raise DataError("the header must name the columns symbol,weight", file=str(path), row=1)
    out: dict[str, float] = {}
    for i, row in enumerate(reader, start=2):
        symbol = (row.get("symbol") or "").strip()
        if not symbol:
            raise DataError("empty symbol", file=str(path), row=i, field="symbol")
        if symbol in out:
            raise DataError(f"{symbol} appears twice", file=str(path), row=i, field="symbol")
        try:
            weight = float((row.get("weight") or "").strip())
        except ValueError:
            raise DataError("not a number", file=str(path), row=i, field="weight", value=row.get("weight")) from None
        if not math.isfinite(weight):
            raise DataError("not a finite number", file=str(path), row=i, field="weight", value=weight)
        out[symbol] = weight
    return out


def last_close_quotes(
    historical: HistoricalStore, calendar: TradingCalendar, market: Market, names: Sequence[str], as_of: datetime
) -> dict[str, Quote]:
    """The last daily close of each of ``names`` known at ``as_of`` (within two weeks), stamped at its close.

    An empty store gives no closes (PAPER without local history trades on snapshot quotes alone).
    """
    if not names:
        return {}
    try:
        bars = TimeMachine(historical, as_of).table(
            Table.PRICES_DAILY, market=market, start=as_of.date() - timedelta(days=14), symbols=list(names),
            columns=["date", "symbol", "close"],
        )  # fmt: skip
    except StoreError:
        return {}
    out: dict[str, Quote] = {}
    for day, symbol, close in bars.sort("date").iter_rows():
        if close is not None:
            out[symbol] = Quote(float(close), calendar.close_at(market, day))
    return out
