"""Execution outcomes: per decision session, expected vs realised cost of the orders, known only after they traded."""

from __future__ import annotations

import json
from datetime import date, timedelta

import polars as pl
import pytest

from prometheus.backtest.execution_quality import ORDER_COSTS_SCHEMA, empty_order_costs
from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.known_at import decision_times
from prometheus.meta.execution_outcomes import EXECUTION_ENGINE, execution_outcomes

DELAY = timedelta(minutes=5)
D1, T1 = date(2024, 3, 4), date(2024, 3, 5)  # decided at D1's close, traded in T1
D2, T2 = date(2024, 3, 5), date(2024, 3, 6)


def _order(decided: date, traded: date, name: str, qty: float, filled: float, price: float, exp_bps: float,
           real_cost: float, shortfall: float) -> dict[str, object]:  # fmt: skip
    notional = filled * price
    row: dict[str, object] = {k: None for k in ORDER_COSTS_SCHEMA}
    row |= {"session": traded, "decision_session": decided, "instrument": name, "side": "BUY", "intent": "open",
            "quantity": qty, "filled_quantity": filled, "decision_price": price, "adv": 1e6,
            "expected_cost": exp_bps * qty * price / 1e4, "realised_cost": real_cost, "shortfall": shortfall,
            "participation": qty / 1e6, "expected_bps": exp_bps,
            "realised_bps": 1e4 * real_cost / notional if notional else None,
            "shortfall_bps": 1e4 * shortfall / notional if notional else None}  # fmt: skip
    return row


def _costs(*rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={k: v[0] for k, v in ORDER_COSTS_SCHEMA.items()})


def test_execution_outcomes_when_orders_filled_weigh_costs_by_filled_notional() -> None:
    cal = get_calendar()
    costs = _costs(
        _order(D1, T1, "AAA", 100, 100, 10.0, 5.0, 1.0, 2.0),  # 1,000 notional, realised 10 bps
        _order(D1, T1, "BBB", 300, 300, 10.0, 3.0, 0.6, 0.0),  # 3,000 notional, realised 2 bps
        _order(D2, T2, "AAA", 50, 0, 10.0, 4.0, 0.0, 0.0),  # nothing filled
    )
    out = execution_outcomes(costs, cal, Market.US_EQ, "bt", "v1", DELAY)
    assert out["engine"].to_list() == [EXECUTION_ENGINE] * 2
    assert out["session"].to_list() == [D1, D2]
    first = out.row(0, named=True)
    # expected (5 x 1,000 + 3 x 3,000) / 4,000 = 3.5 bps; realised 1.6 / 4,000 = 4 bps; outcome +0.5 bps
    m = json.loads(first["metrics"])
    assert m["expected_bps"] == pytest.approx(3.5)
    assert m["realised_bps"] == pytest.approx(4.0)
    assert first["outcome"] == pytest.approx(0.5)
    assert m["shortfall_bps"] == pytest.approx(5.0)
    assert m["orders"] == 2
    assert m["fill_rate"] == 1.0
    unfilled = out.row(1, named=True)
    assert unfilled["outcome"] != unfilled["outcome"]  # NaN: nothing traded, nothing to compare
    assert json.loads(unfilled["metrics"])["orders_filled"] == 0


def test_execution_outcomes_when_recorded_are_known_at_the_trading_sessions_decision_time() -> None:
    cal = get_calendar()
    out = execution_outcomes(_costs(_order(D1, T1, "AAA", 100, 100, 10.0, 5.0, 1.0, 0.0)), cal, Market.US_EQ,
                             "bt", "v1", DELAY)  # fmt: skip
    decided, traded = decision_times(cal, Market.US_EQ, [D1, T1], DELAY)
    row = out.row(0, named=True)
    assert row["decision_time"] == decided
    assert row["known_at"] == traded > decided  # never before the fills of the next session exist


def test_execution_outcomes_when_no_orders_is_empty() -> None:
    assert execution_outcomes(empty_order_costs(), get_calendar(), Market.US_EQ, "bt", "v1", DELAY).is_empty()
