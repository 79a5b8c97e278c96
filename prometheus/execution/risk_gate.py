"""RiskGate: pre-trade rules that each return ``None`` or a coded :class:`Rejection`.

Rejections are data, not exceptions. Exposure rules only stop orders that *increase* the exposure they
guard, so an account that drifted over a limit (prices moved) can always trade back under it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from prometheus.execution.risk_limits import RiskLimits
from prometheus.execution.state_machine import Order
from prometheus.execution.types import RejectReason, TradingState

Value = float | str


@dataclass(frozen=True, slots=True)
class Quote:
    """Last trusted price of an instrument and when it was observed (UTC)."""

    price: float
    ts: datetime


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a rule refused an order: a code, a readable message and the numbers behind it."""

    code: RejectReason
    message: str
    values: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RejectionRecord:
    """A rejection with the order and rule it belongs to (one row of ``risk_rejections``)."""

    ts: datetime
    order: Order
    rule: str
    rejection: Rejection


@dataclass(frozen=True, slots=True)
class OrderCheck:
    """Everything a rule looks at for one order, computed once by the gate."""

    order: Order
    now: datetime
    state: TradingState
    limits: RiskLimits
    equity: float
    quote: Quote | None
    price: float  # the order's own price: limit if set, else the last trusted price (nan if none)
    before: float  # signed shares held before the order (incl. orders already passed)
    after: float
    gross_before: float  # sum |value| / equity
    gross_after: float
    net_before: float  # sum value / equity (signed)
    net_after: float
    in_universe: bool
    recent_orders: int  # orders passed in the last second

    @property
    def reducing(self) -> bool:
        """True when the order only shrinks the position (no growth, no flip through zero)."""
        return abs(self.after) <= abs(self.before) and self.after * self.before >= 0

    @property
    def notional(self) -> float:
        """|quantity| x price of the order."""
        return abs(self.order.quantity) * self.price


Rule = Callable[[OrderCheck], Rejection | None]


def kill_switch(c: OrderCheck) -> Rejection | None:
    """HALTED stops everything; REDUCING lets only risk-reducing orders through."""
    if c.state is TradingState.HALTED:
        return Rejection(RejectReason.KILL_SWITCH_HALTED, "trading is HALTED", {"state": c.state.value})
    if c.state is TradingState.REDUCING and not c.reducing:
        return Rejection(
            RejectReason.KILL_SWITCH_REDUCING,
            "trading is REDUCING: only orders that shrink a position pass",
            {"before": c.before, "after": c.after},
        )
    return None


def universe(c: OrderCheck) -> Rejection | None:
    """Names outside the universe may only be reduced (exiting a dropped name must stay possible)."""
    if c.limits.enforce_universe and not c.in_universe and not c.reducing:
        return Rejection(RejectReason.NOT_IN_UNIVERSE, f"{c.order.instrument} is not in the universe", {})
    return None


def trusted_price(c: OrderCheck) -> Rejection | None:
    """Without a last trusted price no other check can be evaluated."""
    if c.quote is None or not math.isfinite(c.quote.price) or c.quote.price <= 0:
        return Rejection(RejectReason.NO_TRUSTED_PRICE, f"no trusted price for {c.order.instrument}", {})
    return None


def stale_data(c: OrderCheck) -> Rejection | None:
    """The last trusted price must be recent."""
    limit = c.limits.max_quote_age_seconds
    assert c.quote is not None  # trusted_price runs first
    age = (c.now - c.quote.ts).total_seconds()
    if limit is not None and age > limit:
        return Rejection(
            RejectReason.STALE_MARKET_DATA, f"price is {age:.0f} s old (limit {limit:.0f} s)", {"age_s": age}
        )
    return None


def price_collar(c: OrderCheck) -> Rejection | None:
    """A limit price far from the last trusted price is a fat finger or a bad tick."""
    pct = c.limits.price_collar_pct
    if pct is None or c.order.limit_price is None:
        return None
    assert c.quote is not None
    dev = abs(c.order.limit_price / c.quote.price - 1.0)
    if dev > pct:
        return Rejection(
            RejectReason.PRICE_COLLAR,
            f"limit {c.order.limit_price:.4f} is {dev:.2%} from last {c.quote.price:.4f} (collar {pct:.2%})",
            {"limit_price": c.order.limit_price, "last_price": c.quote.price, "deviation": dev},
        )
    return None


def order_notional(c: OrderCheck) -> Rejection | None:
    """One order may not exceed the order notional limit."""
    limit = c.limits.max_order_notional
    if limit is not None and c.notional > limit:
        return Rejection(
            RejectReason.MAX_ORDER_NOTIONAL,
            f"order notional {c.notional:,.2f} > {limit:,.2f}",
            {"notional": c.notional, "limit": limit},
        )
    return None


def position_limits(c: OrderCheck) -> Rejection | None:
    """The position after the order, in currency and as a share of equity."""
    if c.reducing:
        return None
    value = abs(c.after) * c.price
    limit = c.limits.max_position_notional
    if limit is not None and value > limit:
        return Rejection(
            RejectReason.MAX_POSITION_NOTIONAL,
            f"position value {value:,.2f} > {limit:,.2f}",
            {"position_value": value, "limit": limit},
        )
    pct = c.limits.max_position_pct_equity
    share = value / c.equity if c.equity > 0 else math.inf
    if pct is not None and share > pct:
        return Rejection(
            RejectReason.MAX_POSITION_PCT_EQUITY,
            f"position is {share:.2%} of equity > {pct:.2%}",
            {"position_pct": share, "limit": pct},
        )
    return None


def exposure_limits(c: OrderCheck) -> Rejection | None:
    """Gross and net exposure after the order, as multiples of equity."""
    if c.equity <= 0 and not c.reducing:
        return Rejection(
            RejectReason.MAX_GROSS_EXPOSURE, f"equity {c.equity:,.2f} is not positive", {"equity": c.equity}
        )
    gross = c.limits.max_gross_exposure
    if gross is not None and c.gross_after > gross and c.gross_after > c.gross_before:
        return Rejection(
            RejectReason.MAX_GROSS_EXPOSURE,
            f"gross exposure after order {c.gross_after:.4f} > {gross:.4f}",
            {"gross_before": c.gross_before, "gross_after": c.gross_after, "limit": gross},
        )
    net = c.limits.max_net_exposure
    if net is not None and abs(c.net_after) > net and abs(c.net_after) > abs(c.net_before):
        return Rejection(
            RejectReason.MAX_NET_EXPOSURE,
            f"|net exposure| after order {abs(c.net_after):.4f} > {net:.4f}",
            {"net_before": c.net_before, "net_after": c.net_after, "limit": net},
        )
    return None


def order_rate(c: OrderCheck) -> Rejection | None:
    """Orders passed within the last second."""
    limit = c.limits.max_orders_per_second
    if limit is not None and c.recent_orders >= limit:
        return Rejection(RejectReason.ORDER_RATE, f"{c.recent_orders} orders in the last second (limit {limit})", {})
    return None


#: Rules in evaluation order; the first rejection wins. Price-dependent rules come after ``trusted_price``.
DEFAULT_RULES: tuple[Rule, ...] = (
    kill_switch,
    universe,
    trusted_price,
    stale_data,
    price_collar,
    order_notional,
    position_limits,
    exposure_limits,
    order_rate,
)


class RejectionRecorder(Protocol):
    """Where rejections go (the runtime store in production)."""

    def record_rejections(self, records: Sequence[RejectionRecord]) -> None:
        """Persist the records."""
        ...


@dataclass(slots=True)
class GateResult:
    """Orders that passed and rejections, in input order."""

    passed: list[Order]
    rejected: list[RejectionRecord]


@dataclass
class AccountView:
    """The account as the gate sees it: equity, signed positions, last trusted quotes, the universe."""

    equity: float
    positions: Mapping[str, float]
    quotes: Mapping[str, Quote]
    universe: frozenset[str] | None = None


class RiskGate:
    """Runs every order through the rules; orders that pass are projected onto the positions as if filled.

    Parameters
    ----------
    limits
        The risk limits.
    trading_state
        Returns the current kill-switch state; read once per :meth:`check` (it reads ``risk_state``).
    recorder
        Receives every rejection; ``None`` keeps them only in the result.
    rules
        Override the rule list (tests); default :data:`DEFAULT_RULES`.
    """

    def __init__(
        self,
        limits: RiskLimits,
        trading_state: Callable[[], TradingState],
        recorder: RejectionRecorder | None = None,
        rules: Sequence[Rule] = DEFAULT_RULES,
    ) -> None:
        self.limits = limits
        self._state = trading_state
        self._recorder = recorder
        self._rules = tuple(rules)
        self._passed_at: deque[datetime] = deque()

    def check(self, orders: Iterable[Order], account: AccountView, now: datetime) -> GateResult:
        """Check ``orders`` in sequence against ``account`` (include already working orders in its positions)."""
        state = self._state()
        positions = dict(account.positions)
        gross, net = _exposure(positions, account.quotes)
        result = GateResult([], [])
        for order in orders:
            check = self._build(order, account, positions, gross, net, state, now)
            rejection = self._first_rejection(check)
            if rejection is not None:
                result.rejected.append(RejectionRecord(now, order, rejection[0], rejection[1]))
                continue
            result.passed.append(order)
            self._passed_at.append(now)
            positions[order.instrument] = check.after
            gross, net = check.gross_after * account.equity, check.net_after * account.equity
        if result.rejected and self._recorder is not None:
            self._recorder.record_rejections(result.rejected)
        return result

    def _first_rejection(self, check: OrderCheck) -> tuple[str, Rejection] | None:
        for rule in self._rules:
            rejection = rule(check)
            if rejection is not None:
                return rule.__name__, rejection
        return None

    def _build(
        self,
        order: Order,
        account: AccountView,
        positions: Mapping[str, float],
        gross: float,
        net: float,
        state: TradingState,
        now: datetime,
    ) -> OrderCheck:
        while self._passed_at and (now - self._passed_at[0]).total_seconds() >= 1.0:
            self._passed_at.popleft()
        quote = account.quotes.get(order.instrument)
        last = quote.price if quote is not None else math.nan
        price = order.limit_price if order.limit_price is not None else last
        before = positions.get(order.instrument, 0.0)
        after = before + order.signed_quantity
        mark = last if math.isfinite(last) else 0.0
        gross_after = gross + (abs(after) - abs(before)) * mark
        net_after = net + (after - before) * mark
        eq = account.equity if account.equity > 0 else math.nan
        return OrderCheck(
            order=order,
            now=now,
            state=state,
            limits=self.limits,
            equity=account.equity,
            quote=quote,
            price=price,
            before=before,
            after=after,
            gross_before=gross / eq,
            gross_after=gross_after / eq,
            net_before=net / eq,
            net_after=net_after / eq,
            in_universe=account.universe is None or order.instrument in account.universe,
            recent_orders=len(self._passed_at),
        )


def _exposure(positions: Mapping[str, float], quotes: Mapping[str, Quote]) -> tuple[float, float]:
    gross = net = 0.0
    for name, qty in positions.items():
        quote = quotes.get(name)
        if quote is not None and qty:
            gross += abs(qty) * quote.price
            net += qty * quote.price
    return gross, net
