"""Execution: order lifecycle, OrderPlanner, RiskGate and kill switch, MarketSimulator, brokers.

Brokers: BacktestBroker (BACKTEST) and IbBroker (PAPER and LIVE, :mod:`prometheus.execution.brokers.ib`).
The cost model the simulator charges lives in :mod:`prometheus.core.costs` (shared with the portfolio optimiser).
"""

from prometheus.execution.accounting import Ledger
from prometheus.execution.backtest_broker import (
    EQUITY_CURVE_SCHEMA,
    BacktestBroker,
    CorporateAction,
    CorporateActionKind,
)
from prometheus.execution.broker import Broker
from prometheus.execution.brokers.ib import IbBroker, IbConfig
from prometheus.execution.market_data import PANEL_SCHEMA, MarketPanel, trailing_adv_sigma
from prometheus.execution.planner import OrderPlanner, PlannerConfig, PlanningInput, order_ref
from prometheus.execution.risk_gate import (
    DEFAULT_RULES,
    AccountView,
    GateResult,
    OrderCheck,
    Quote,
    Rejection,
    RejectionRecord,
    RiskGate,
)
from prometheus.execution.risk_limits import RiskLimits, risk_limits_from_settings, risk_limits_problems
from prometheus.execution.simulator import MarketSimulator, SimulatorConfig
from prometheus.execution.state_machine import TRANSITIONS, Order, next_status
from prometheus.execution.types import (
    Fill,
    FillPrice,
    OrderEvent,
    OrderEventType,
    OrderIntent,
    OrderRef,
    OrderStatus,
    OrderType,
    Position,
    RejectReason,
    RemainderPolicy,
    Side,
    TradingState,
)

__all__ = [
    "DEFAULT_RULES",
    "EQUITY_CURVE_SCHEMA",
    "PANEL_SCHEMA",
    "TRANSITIONS",
    "AccountView",
    "BacktestBroker",
    "Broker",
    "CorporateAction",
    "CorporateActionKind",
    "Fill",
    "FillPrice",
    "GateResult",
    "IbBroker",
    "IbConfig",
    "Ledger",
    "MarketPanel",
    "MarketSimulator",
    "Order",
    "OrderCheck",
    "OrderEvent",
    "OrderEventType",
    "OrderIntent",
    "OrderPlanner",
    "OrderRef",
    "OrderStatus",
    "OrderType",
    "PlannerConfig",
    "PlanningInput",
    "Position",
    "Quote",
    "RejectReason",
    "Rejection",
    "RejectionRecord",
    "RemainderPolicy",
    "RiskGate",
    "RiskLimits",
    "Side",
    "SimulatorConfig",
    "TradingState",
    "next_status",
    "order_ref",
    "risk_limits_from_settings",
    "risk_limits_problems",
    "trailing_adv_sigma",
]
