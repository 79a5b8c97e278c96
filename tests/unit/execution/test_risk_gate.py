"""RiskGate: each rule on both sides of its limit, kill-switch states, and a gross-exposure property."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prometheus.execution import (
    AccountView,
    OrderType,
    Quote,
    RejectReason,
    RiskGate,
    Side,
    TradingState,
)
from tests.support.execution_kit import T0, make_order, open_limits

EQUITY = 1_000_000.0


def _account(positions: dict[str, float] | None = None, **kw: object) -> AccountView:
    quotes = kw.pop("quotes", {"AAA": Quote(100.0, T0), "BBB": Quote(50.0, T0)})
    return AccountView(equity=kw.pop("equity", EQUITY), positions=positions or {}, quotes=quotes, **kw)


def _code(limits_kw: dict, order, account=None, state=TradingState.ACTIVE, now=T0):
    gate = RiskGate(open_limits(**limits_kw), lambda: state)
    result = gate.check([order], account or _account(), now)
    return result.rejected[0].rejection.code if result.rejected else None


# Each case: limits, an order just inside the limit, an order just outside, the expected code.
CASES = {
    "order_notional": (
        {"max_order_notional": 10_000.0},
        make_order(quantity=100),
        make_order(quantity=101),
        RejectReason.MAX_ORDER_NOTIONAL,
    ),
    "position_notional": (
        {"max_position_notional": 20_000.0},
        make_order(quantity=200),
        make_order(quantity=201),
        RejectReason.MAX_POSITION_NOTIONAL,
    ),
    "position_pct": (
        {"max_position_pct_equity": 0.01},
        make_order(quantity=100),
        make_order(quantity=101),
        RejectReason.MAX_POSITION_PCT_EQUITY,
    ),
    "gross": (
        {"max_gross_exposure": 0.5},
        make_order(quantity=5_000),
        make_order(quantity=5_001),
        RejectReason.MAX_GROSS_EXPOSURE,
    ),
    "net": (
        {"max_net_exposure": 0.2},
        make_order(side=Side.SELL, quantity=2_000),
        make_order(side=Side.SELL, quantity=2_001),
        RejectReason.MAX_NET_EXPOSURE,
    ),
    "collar": (
        {"price_collar_pct": 0.05},
        make_order(order_type=OrderType.LIMIT, limit_price=104.99),
        make_order(order_type=OrderType.LIMIT, limit_price=105.01),
        RejectReason.PRICE_COLLAR,
    ),
    "universe": (
        {"enforce_universe": True},
        make_order(instrument="AAA"),
        make_order(instrument="BBB"),
        RejectReason.NOT_IN_UNIVERSE,
    ),
    "trusted_price": ({}, make_order(instrument="AAA"), make_order(instrument="ZZZ"), RejectReason.NO_TRUSTED_PRICE),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_when_order_inside_limit_passes(case: str) -> None:
    limits, inside, _, _ = CASES[case]
    assert _code(limits, inside, _account(universe=frozenset({"AAA"}))) is None


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_when_order_outside_limit_rejects_with_code(case: str) -> None:
    limits, _, outside, code = CASES[case]
    assert _code(limits, outside, _account(universe=frozenset({"AAA"}))) is code


@pytest.mark.parametrize(("age_s", "code"), [(60, None), (61, RejectReason.STALE_MARKET_DATA)])
def test_stale_data_when_quote_age_around_limit(age_s: int, code: RejectReason | None) -> None:
    assert _code({"max_quote_age_seconds": 60}, make_order(), now=T0 + timedelta(seconds=age_s)) is code


def test_order_rate_when_limit_reached_rejects_until_window_passes() -> None:
    gate = RiskGate(open_limits(max_orders_per_second=2), lambda: TradingState.ACTIVE)
    orders = [make_order(ref=f"o{i}", quantity=1) for i in range(3)]
    first = gate.check(orders, _account(), T0)
    assert [o.ref.value for o in first.passed] == ["o0", "o1"]
    assert first.rejected[0].rejection.code is RejectReason.ORDER_RATE
    later = gate.check([make_order(ref="o3", quantity=1)], _account(), T0 + timedelta(seconds=1))
    assert len(later.passed) == 1


def test_exposure_rules_when_account_already_over_limit_let_reductions_pass() -> None:
    account = _account({"AAA": 10_000.0})  # gross 1.0 > limit 0.5
    limits = {"max_gross_exposure": 0.5, "max_position_pct_equity": 0.1}
    assert _code(limits, make_order(side=Side.SELL, quantity=1_000), account) is None
    assert _code(limits, make_order(side=Side.BUY, quantity=1), account) is RejectReason.MAX_POSITION_PCT_EQUITY


def test_universe_when_name_outside_universe_allows_exit() -> None:
    account = _account({"BBB": 100.0}, universe=frozenset({"AAA"}))
    assert _code({"enforce_universe": True}, make_order("BBB", Side.SELL, 100), account) is None


@pytest.mark.parametrize(
    ("state", "side", "code"),
    [
        (TradingState.ACTIVE, Side.BUY, None),
        (TradingState.ACTIVE, Side.SELL, None),
        (TradingState.REDUCING, Side.SELL, None),
        (TradingState.REDUCING, Side.BUY, RejectReason.KILL_SWITCH_REDUCING),
        (TradingState.HALTED, Side.SELL, RejectReason.KILL_SWITCH_HALTED),
        (TradingState.HALTED, Side.BUY, RejectReason.KILL_SWITCH_HALTED),
    ],
)
def test_kill_switch_when_state_set_passes_only_allowed_orders(state, side, code) -> None:
    account = _account({"AAA": 100.0})
    assert _code({}, make_order(side=side, quantity=50), account, state=state) is code


def test_kill_switch_when_reducing_rejects_flip_through_zero() -> None:
    account = _account({"AAA": 100.0})
    assert _code({}, make_order(side=Side.SELL, quantity=150), account, state=TradingState.REDUCING) is (
        RejectReason.KILL_SWITCH_REDUCING
    )


def test_check_when_rejecting_sends_records_to_recorder() -> None:
    got = []

    class Recorder:
        def record_rejections(self, records):
            got.extend(records)

    gate = RiskGate(open_limits(max_order_notional=1.0), lambda: TradingState.ACTIVE, Recorder())
    gate.check([make_order(quantity=5)], _account(), T0)
    assert [(r.rule, r.rejection.code) for r in got] == [("order_notional", RejectReason.MAX_ORDER_NOTIONAL)]
    assert got[0].rejection.values == {"notional": 500.0, "limit": 1.0}


def test_check_when_orders_pass_projects_them_onto_positions() -> None:
    gate = RiskGate(open_limits(max_position_notional=15_000.0), lambda: TradingState.ACTIVE)
    result = gate.check([make_order(ref="a", quantity=100), make_order(ref="b", quantity=100)], _account(), T0)
    assert [o.ref.value for o in result.passed] == ["a"]
    assert result.rejected[0].rejection.code is RejectReason.MAX_POSITION_NOTIONAL


_orders = st.lists(
    st.tuples(st.sampled_from(["AAA", "BBB", "CCC"]), st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 20_000)),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(orders=_orders, limit=st.floats(0.1, 3.0))
def test_gate_when_any_order_sequence_passes_gross_stays_within_limit(orders, limit) -> None:
    quotes = {"AAA": Quote(100.0, T0), "BBB": Quote(50.0, T0), "CCC": Quote(7.0, T0)}
    gate = RiskGate(open_limits(max_gross_exposure=limit), lambda: TradingState.ACTIVE)
    positions: dict[str, float] = {}
    for i, (name, side, qty) in enumerate(orders):
        account = AccountView(EQUITY, positions, quotes)
        result = gate.check([make_order(name, side, float(qty), ref=str(i))], account, T0)
        for o in result.passed:
            positions[o.instrument] = positions.get(o.instrument, 0.0) + o.signed_quantity
        gross = sum(abs(q) * quotes[n].price for n, q in positions.items())
        assert gross <= limit * EQUITY * (1 + 1e-12)
