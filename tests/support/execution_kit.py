"""Builders shared by the execution tests: orders, limits, panels, and a worker for spawned processes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from prometheus.execution import (
    MarketPanel,
    Order,
    OrderRef,
    OrderType,
    RiskLimits,
    Side,
)
from prometheus.execution.kill_switch import KillSwitch
from prometheus.execution.types import TradingState
from prometheus.runtime import RuntimeStore

T0 = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)
SESSION = date(2024, 3, 1)


def make_order(
    instrument: str = "AAA",
    side: Side = Side.BUY,
    quantity: float = 100.0,
    *,
    ref: str | None = None,
    order_type: OrderType = OrderType.MOO,
    limit_price: float | None = None,
    session: date = SESSION,
) -> Order:
    """An order in status NEW."""
    return Order(
        ref=OrderRef(ref or f"{instrument}-{side}-{quantity}"),
        instrument=instrument,
        side=side,
        quantity=quantity,
        order_type=order_type,
        session=session,
        limit_price=limit_price,
    )


def open_limits(**overrides: object) -> RiskLimits:
    """Limits with every rule off, then ``overrides``."""
    values: dict[str, object] = {
        "max_order_notional": None,
        "max_position_notional": None,
        "max_position_pct_equity": None,
        "max_gross_exposure": None,
        "max_net_exposure": None,
        "price_collar_pct": None,
        "max_orders_per_second": None,
        "max_quote_age_seconds": None,
        "enforce_universe": False,
        "max_drawdown": None,
        "max_daily_loss": None,
        "portfolio": {
            "max_gross": None,
            "max_net": None,
            "min_net": None,
            "max_weight": None,
            "max_sector": None,
            "beta_band": None,
            "max_turnover": None,
            "long_only": False,
        },
    }
    values.update(overrides)
    return RiskLimits.model_validate(values)


def sessions(n: int, start: date = date(2024, 1, 2)) -> list[date]:
    """``n`` weekdays from ``start``."""
    out, d = [], start
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def flat_panel(
    n_sessions: int,
    names: list[str],
    *,
    close: np.ndarray | None = None,
    volume: float = 1_000_000.0,
    **arrays: np.ndarray,
) -> MarketPanel:
    """A panel with given (or constant 100) closes; open/high/low default to close; ADV = volume, sigma 0."""
    days = sessions(n_sessions)
    shape = (n_sessions, len(names))
    c = np.full(shape, 100.0) if close is None else np.asarray(close, dtype=float)
    vol = arrays.pop("volume_arr", np.full(shape, volume))
    fields = {
        "open": arrays.pop("open", c),
        "high": arrays.pop("high", c),
        "low": arrays.pop("low", c),
        "close": c,
        "volume": vol,
        "adv": arrays.pop("adv", np.full(shape, volume)),
        "sigma": arrays.pop("sigma", np.zeros(shape)),
        "tradable": arrays.pop("tradable", np.ones(shape, dtype=bool)),
    }
    ts = [datetime(d.year, d.month, d.day, 21, 0, tzinfo=UTC) for d in days]
    return MarketPanel(sessions=days, ts=ts, instruments=names, **fields)


def child_read_state(url: str, scope: str) -> str:
    """Run in a spawned process: the kill-switch state that process sees."""
    store = RuntimeStore(url)
    try:
        return KillSwitch(store, scope).state().value
    finally:
        store.close()


def child_set_state(url: str, scope: str, state: str) -> str:
    """Run in a spawned process: set the state, return what it then reads."""
    store = RuntimeStore(url)
    try:
        switch = KillSwitch(store, scope)
        switch.set(TradingState(state), "set by a second process", "child")
        return switch.state().value
    finally:
        store.close()
