"""MarketSimulator and BacktestBroker: fill prices, costs, participation, halts, limits, actions, accounting."""

from __future__ import annotations

import numpy as np
import pytest

from prometheus.core.costs import CostConfig
from prometheus.execution import (
    BacktestBroker,
    Broker,
    CorporateAction,
    CorporateActionKind,
    FillPrice,
    OrderStatus,
    OrderType,
    RemainderPolicy,
    Side,
    SimulatorConfig,
)
from tests.support.execution_kit import flat_panel, make_order

NO_COST = SimulatorConfig(costs=None, max_participation=None)


def _ohlc_panel(n: int = 3, **kw):
    shape = (n, 1)
    return flat_panel(
        n,
        ["AAA"],
        close=np.full(shape, 11.0),
        open=np.full(shape, 10.0),
        high=np.full(shape, 12.0),
        low=np.full(shape, 8.0),
        **kw,
    )


def _run(panel, config, *orders, cash=100_000.0, actions=()):
    broker = BacktestBroker(panel, config, cash, actions)
    broker.submit_many(orders)
    broker.run_to_end()
    return broker


def test_broker_when_built_implements_protocol() -> None:
    assert isinstance(BacktestBroker(_ohlc_panel(), NO_COST, 1.0), Broker)


@pytest.mark.parametrize(
    ("fill_price", "order_type", "expected"),
    [
        (FillPrice.OPEN, OrderType.MARKET, 10.0),
        (FillPrice.CLOSE, OrderType.MARKET, 11.0),
        (FillPrice.VWAP_PROXY, OrderType.MARKET, (12 + 8 + 11) / 3),
        (FillPrice.CLOSE, OrderType.MOO, 10.0),
        (FillPrice.OPEN, OrderType.MOC, 11.0),
    ],
)
def test_fill_when_price_basis_configured_uses_it(fill_price, order_type, expected) -> None:
    panel = _ohlc_panel()
    cfg = SimulatorConfig(costs=None, max_participation=None, fill_price=fill_price)
    broker = _run(panel, cfg, make_order(order_type=order_type, session=panel.sessions[0]))
    assert broker.fills()[0].price == pytest.approx(expected)


@pytest.mark.parametrize(("side", "expected"), [(Side.BUY, 10.02), (Side.SELL, 9.98)])
def test_fill_when_costs_on_adds_half_spread_and_sqrt_impact(side: Side, expected: float) -> None:
    # half spread 10 bp; impact 0.5 x 0.02 x sqrt(10,000 / 1,000,000) = 0.001 -> price x (1 +/- 0.002)
    panel = _ohlc_panel(sigma=np.full((3, 1), 0.02))
    costs = CostConfig(half_spread_bps=10.0, impact_coefficient=0.5)
    cfg = SimulatorConfig(costs=costs, max_participation=None)
    broker = _run(panel, cfg, make_order(side=side, quantity=10_000, session=panel.sessions[0]))
    fill = broker.fills()[0]
    assert fill.price == pytest.approx(expected)
    assert fill.spread_cost == pytest.approx(100.0)
    assert fill.impact_cost == pytest.approx(100.0)


def test_participation_when_carry_over_fills_across_sessions() -> None:
    panel = _ohlc_panel(volume=1_000.0)
    cfg = SimulatorConfig(costs=None, max_participation=0.1)
    broker = _run(panel, cfg, make_order(quantity=250, session=panel.sessions[0]))
    assert [f.quantity for f in broker.fills()] == [100, 100, 50]
    assert [f.session for f in broker.fills()] == list(panel.sessions)
    order = broker.order(broker.fills()[0].ref)
    assert order.status is OrderStatus.FILLED


def test_participation_when_cancel_policy_cancels_remainder() -> None:
    panel = _ohlc_panel(volume=1_000.0)
    cfg = SimulatorConfig(costs=None, max_participation=0.1, remainder=RemainderPolicy.CANCEL)
    broker = _run(panel, cfg, make_order(quantity=250, session=panel.sessions[0]))
    order = broker.order(broker.fills()[0].ref)
    assert [f.quantity for f in broker.fills()] == [100]
    assert (order.status, order.filled_quantity) == (OrderStatus.CANCELLED, 100)


@pytest.mark.parametrize("blocker", ["no_volume", "halted"])
def test_fill_when_no_volume_or_halted_waits_for_next_tradable_session(blocker: str) -> None:
    volume = np.array([[0.0], [1e6], [1e6]])
    tradable = np.array([[blocker != "halted"], [True], [True]])
    vol = volume if blocker == "no_volume" else np.full((3, 1), 1e6)
    panel = _ohlc_panel(volume_arr=vol, tradable=tradable)
    broker = _run(panel, NO_COST, make_order(session=panel.sessions[0]))
    assert [f.session for f in broker.fills()] == [panel.sessions[1]]


@pytest.mark.parametrize(
    ("side", "limit", "filled_at"),
    [
        (Side.BUY, 9.0, 9.0),  # low 8 < 9: fills at min(open 10, 9)
        (Side.BUY, 8.0, None),  # low only touches 8: no trade-through
        (Side.BUY, 10.5, 10.0),  # open below the limit: fills at the open
        (Side.SELL, 11.5, 11.5),  # high 12 > 11.5
        (Side.SELL, 12.0, None),
    ],
)
def test_limit_when_price_trades_through_fills_never_worse(side, limit, filled_at) -> None:
    panel = _ohlc_panel(n=1)
    order = make_order(side=side, order_type=OrderType.LIMIT, limit_price=limit, session=panel.sessions[0])
    broker = _run(panel, NO_COST, order)
    assert [f.price for f in broker.fills()] == ([] if filled_at is None else [pytest.approx(filled_at)])


def test_limit_when_costs_push_past_limit_caps_price_at_limit() -> None:
    panel = _ohlc_panel(n=1)
    cfg = SimulatorConfig(costs=CostConfig(half_spread_bps=100.0), max_participation=None)
    order = make_order(order_type=OrderType.LIMIT, limit_price=10.05, session=panel.sessions[0])
    fill = _run(panel, cfg, order).fills()[0]
    assert fill.price == pytest.approx(10.05)
    assert fill.spread_cost == pytest.approx(5.0)  # 100 shares x 0.05 left of the 0.10 half spread
    assert fill.impact_cost == pytest.approx(0.0)


def test_run_when_repeated_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (30, 2)), axis=0))
    panel = flat_panel(30, ["AAA", "BBB"], close=close, sigma=np.full((30, 2), 0.02))
    cfg = SimulatorConfig(costs=CostConfig(), max_participation=1e-4)
    curves = [
        _run(panel, cfg, make_order("AAA", quantity=500, session=panel.sessions[2])).equity_curve() for _ in range(2)
    ]
    assert curves[0].equals(curves[1])


def test_submit_when_ref_known_returns_known_order() -> None:
    panel = _ohlc_panel()
    broker = BacktestBroker(panel, NO_COST, 1e5)
    first = broker.submit(make_order(ref="x", session=panel.sessions[0]))
    again = broker.submit(make_order(ref="x", quantity=999, session=panel.sessions[0]))
    assert again is first
    assert len(broker.open_orders()) == 1


def test_submit_when_session_closed_rejects_order() -> None:
    panel = _ohlc_panel()
    broker = BacktestBroker(panel, NO_COST, 1e5)
    broker.advance_to(panel.sessions[1])
    order = broker.submit(make_order(session=panel.sessions[0]))
    assert order.status is OrderStatus.REJECTED
    assert "closed" in order.events[-1].reason


def test_modify_and_cancel_when_working_change_and_close_order() -> None:
    panel = _ohlc_panel()
    broker = BacktestBroker(panel, NO_COST, 1e5)
    order = broker.submit(make_order(session=panel.sessions[1]))
    broker.modify(order.ref, quantity=40)
    assert (order.status, order.quantity) == (OrderStatus.SUBMITTED, 40)
    broker.cancel(order.ref)
    assert order.status is OrderStatus.CANCELLED
    assert broker.open_orders() == []


def test_split_when_ex_date_reached_scales_shares_keeps_cost_and_equity() -> None:
    close = np.array([[100.0], [100.0], [50.0]])
    panel = flat_panel(3, ["AAA"], close=close)
    split = CorporateAction(panel.sessions[2], "AAA", CorporateActionKind.SPLIT, 2.0)
    broker = _run(panel, NO_COST, make_order(quantity=100, session=panel.sessions[0]), cash=10_000.0, actions=[split])
    pos = broker.positions()["AAA"]
    assert (pos.quantity, pos.cost_basis, pos.average_price) == (200.0, 10_000.0, 50.0)
    assert broker.equity_curve()["equity"].to_list() == [10_000.0] * 3


@pytest.mark.parametrize(("side", "flow"), [(Side.BUY, 50.0), (Side.SELL, -50.0)])
def test_dividend_when_ex_date_reached_credits_longs_debits_shorts(side: Side, flow: float) -> None:
    panel = flat_panel(2, ["AAA"])
    div = CorporateAction(panel.sessions[1], "AAA", CorporateActionKind.DIVIDEND, 0.5)
    broker = _run(panel, NO_COST, make_order(side=side, quantity=100, session=panel.sessions[0]), actions=[div])
    curve = broker.equity_curve()
    assert curve["dividends"][-1] == pytest.approx(flow)
    assert curve["equity"][-1] - curve["equity"][0] == pytest.approx(flow)


def test_borrow_when_short_accrues_rate_over_360_per_calendar_day() -> None:
    panel = flat_panel(4, ["AAA"])  # Tue 2 Jan .. Fri 5 Jan 2024
    cfg = SimulatorConfig(costs=CostConfig(borrow_rate_annual=0.036, half_spread_bps=0.0), max_participation=None)
    broker = _run(panel, cfg, make_order(side=Side.SELL, quantity=100, session=panel.sessions[0]))
    # short value 10,000 x 0.036 / 360 = 1.00 per day, day 1 counts 1 day
    assert broker.equity_curve()["borrow"].to_list() == pytest.approx([1.0, 2.0, 3.0, 4.0])


def test_accounting_when_costs_on_equity_is_cash_plus_positions_to_the_cent() -> None:
    rng = np.random.default_rng(11)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (40, 3)), axis=0))
    panel = flat_panel(40, ["AAA", "BBB", "CCC"], close=close, sigma=np.full((40, 3), 0.02), volume=20_000.0)
    cfg = SimulatorConfig(costs=CostConfig(), max_participation=0.05, fill_price=FillPrice.CLOSE)
    broker = BacktestBroker(panel, cfg, 1_000_000.0)
    for i, (name, side, qty) in enumerate(
        [("AAA", Side.BUY, 3_000), ("BBB", Side.SELL, 2_000), ("CCC", Side.BUY, 500)]
    ):
        broker.submit(make_order(name, side, qty, ref=f"o{i}", session=panel.sessions[5 * i]))
    broker.run_to_end()
    curve = broker.equity_curve()
    fills = broker.fills()
    qty = np.zeros((40, 3))
    cash = np.full(40, 1_000_000.0)
    for f in fills:
        s = panel.sessions.index(f.session)
        col = panel.instruments.index(f.instrument)
        qty[s:, col] += f.signed_quantity
        cash[s:] -= f.signed_quantity * f.price + f.commission + f.fees
    cash -= curve["borrow"].to_numpy()
    expected = cash + (qty * close).sum(axis=1)
    assert np.abs(curve["equity"].to_numpy() - expected).max() < 0.005
    costs = {k: curve[k][-1] for k in ("commission", "fees", "spread", "impact")}
    assert costs["commission"] == pytest.approx(sum(f.commission for f in fills))
    assert costs["fees"] == pytest.approx(sum(f.fees for f in fills))
    assert costs["fees"] > 0
    assert costs["impact"] > 0
    assert costs["spread"] > 0


def test_accounting_when_partly_sold_splits_realised_and_unrealised() -> None:
    close = np.array([[10.0], [12.0], [11.0]])
    panel = flat_panel(3, ["AAA"], close=close)
    broker = BacktestBroker(panel, NO_COST, 10_000.0)
    broker.submit(make_order(quantity=100, ref="b", session=panel.sessions[0]))
    broker.submit(make_order(side=Side.SELL, quantity=60, ref="s", session=panel.sessions[1]))
    broker.run_to_end()
    last = broker.equity_curve().row(-1, named=True)
    assert last["realised_pnl"] == pytest.approx(60 * 2.0)
    assert last["unrealised_pnl"] == pytest.approx(40 * 1.0)
    assert last["equity"] == pytest.approx(10_000.0 + 120.0 + 40.0)
