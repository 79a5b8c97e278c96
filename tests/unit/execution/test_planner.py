"""OrderPlanner: rounding, minimum notional, participation, order types, deterministic refs."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from prometheus.core.errors import ConfigError, DataError
from prometheus.execution import (
    OrderIntent,
    OrderPlanner,
    OrderType,
    PlannerConfig,
    PlanningInput,
    Side,
    order_ref,
)

DAY = date(2024, 3, 4)


def _plan(weights: dict[str, float], prices: dict[str, float], equity: float = 10_000.0, **kw: object):
    positions = kw.pop("positions", {})
    adv = kw.pop("adv", None)
    planner = OrderPlanner(PlannerConfig(**kw))
    inp = PlanningInput.from_mappings(
        "exp1", DAY, target_weights=weights, positions=positions, prices=prices, equity=equity, adv=adv
    )
    return planner.plan(inp)


def test_plan_when_weights_give_fractions_rounds_shares_toward_zero() -> None:
    orders = _plan({"AAA": 0.5, "BBB": -0.25}, {"AAA": 33.0, "BBB": 7.0})
    by = {o.instrument: o for o in orders}
    assert (by["AAA"].side, by["AAA"].quantity) == (Side.BUY, 151.0)  # 5000 / 33 = 151.5
    assert (by["BBB"].side, by["BBB"].quantity) == (Side.SELL, 357.0)  # -2500 / 7 = -357.1


def test_plan_when_lot_size_is_100_rounds_to_lots() -> None:
    orders = _plan({"AAA": 0.5}, {"AAA": 33.0}, lot_size=100)
    assert orders[0].quantity == 100.0


def test_plan_when_fractional_shares_keeps_exact_quantity() -> None:
    orders = _plan({"AAA": 0.5}, {"AAA": 33.0}, fractional_shares=True)
    assert orders[0].quantity == pytest.approx(5000 / 33)


def test_plan_when_holding_existing_position_trades_the_difference() -> None:
    orders = _plan({"AAA": 0.5}, {"AAA": 10.0}, positions={"AAA": 600.0})
    assert (orders[0].side, orders[0].quantity) == (Side.SELL, 100.0)


def test_plan_when_name_dropped_from_targets_sells_it_out() -> None:
    orders = _plan({}, {"AAA": 10.0}, positions={"AAA": 25.0})
    assert (orders[0].side, orders[0].quantity) == (Side.SELL, 25.0)


@pytest.mark.parametrize(("min_notional", "n_orders"), [(100.0, 1), (100.01, 0)])
def test_plan_when_trade_near_min_notional_keeps_only_orders_at_or_above(min_notional: float, n_orders: int) -> None:
    orders = _plan({"AAA": 0.01}, {"AAA": 10.0}, min_notional=min_notional)  # 10 shares = 100.00
    assert len(orders) == n_orders


@pytest.mark.parametrize(("adv", "expected"), [(1_000.0, 50.0), (100_000.0, 500.0)])
def test_plan_when_participation_cap_set_limits_quantity(adv: float, expected: float) -> None:
    orders = _plan({"AAA": 0.5}, {"AAA": 10.0}, adv={"AAA": adv}, max_participation=0.05)
    assert orders[0].quantity == expected


def test_plan_when_participation_cap_set_without_adv_raises() -> None:
    with pytest.raises(DataError, match="ADV"):
        _plan({"AAA": 0.5}, {"AAA": 10.0}, max_participation=0.05)


def test_plan_when_price_missing_for_target_raises() -> None:
    planner = OrderPlanner(PlannerConfig())
    inp = PlanningInput("e", DAY, ["AAA"], np.array([0.5]), np.array([0.0]), np.array([np.nan]), 1000.0)
    with pytest.raises(DataError, match="AAA"):
        planner.plan(inp)


@pytest.mark.parametrize("order_type", list(OrderType))
def test_plan_when_order_type_configured_sets_type_and_collared_limit(order_type: OrderType) -> None:
    orders = _plan({"AAA": 0.5, "BBB": -0.5}, {"AAA": 10.0, "BBB": 20.0}, order_type=order_type, limit_collar_bps=100)
    by = {o.instrument: o for o in orders}
    assert {o.order_type for o in orders} == {order_type}
    if order_type is OrderType.LIMIT:
        assert by["AAA"].limit_price == pytest.approx(10.1)
        assert by["BBB"].limit_price == pytest.approx(19.8)
    else:
        assert by["AAA"].limit_price is None


def test_plan_when_same_session_planned_twice_gives_same_refs() -> None:
    first = _plan({"AAA": 0.5, "BBB": 0.3}, {"AAA": 10.0, "BBB": 20.0})
    second = _plan({"AAA": 0.4, "BBB": 0.3}, {"AAA": 11.0, "BBB": 20.0})
    assert [o.ref for o in first] == [o.ref for o in second]


def test_order_ref_when_any_key_part_changes_differs() -> None:
    base = order_ref("exp1", DAY, "AAA", OrderIntent.REBALANCE)
    assert base == order_ref("exp1", DAY, "AAA", OrderIntent.REBALANCE)
    others = {
        order_ref("exp2", DAY, "AAA", OrderIntent.REBALANCE),
        order_ref("exp1", date(2024, 3, 5), "AAA", OrderIntent.REBALANCE),
        order_ref("exp1", DAY, "BBB", OrderIntent.REBALANCE),
        order_ref("exp1", DAY, "AAA", OrderIntent.LIQUIDATE),
    }
    assert base not in others
    assert len(others) == 4


def test_config_when_limit_has_no_collar_raises_naming_collar() -> None:
    with pytest.raises(ConfigError, match=r"planner\.yaml: planner config key 'limit_collar_bps': .*positive collar"):
        PlannerConfig.from_mapping({"order_type": "LIMIT", "limit_collar_bps": 0}, source="planner.yaml")


def test_config_when_not_limit_accepts_zero_collar() -> None:
    assert PlannerConfig.from_mapping({"order_type": "MOC", "limit_collar_bps": 0}).limit_collar_bps == 0
