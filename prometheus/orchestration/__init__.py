"""Orchestration: market-state watch (what each market's sensor runs when), the models a daily cycle needs first,
market_states, alerts, and the orders for the open at IB.

Plain Python: the Dagster sensors and schedules in ``prometheus_assets/sensors.py`` call these and stay thin.
"""

from prometheus.orchestration.alerts import (
    Alert,
    Alerter,
    AlertSource,
    NewAlert,
    UnknownAlert,
    acknowledge,
    check_webhook_url,
    get_alert,
    list_alerts,
)
from prometheus.orchestration.market_states import MarketStateRow, list_transitions, record_transitions
from prometheus.orchestration.market_watch import (
    Clock,
    CycleKind,
    CycleRequest,
    MarketWatch,
    ObservedTransition,
    Tick,
    WatchCursor,
    cycle_key,
    fallback_cron,
)
from prometheus.orchestration.models import (
    MODEL_ORDER,
    CyclePlan,
    ModelKind,
    ModelPeriod,
    ModelRequest,
    pending_cycle,
    plan_cycle,
)
from prometheus.orchestration.orders import (
    IbSession,
    SessionOrders,
    execute_targets,
    foreign_order_alerts,
    ib_session,
)
from prometheus.orchestration.sources import (
    BrokerAlerts,
    CheckEvaluation,
    ConnectivityHook,
    check_alert,
    kill_switch_alerts,
    missed_cycle_alerts,
    run_failure_alert,
)

__all__ = [
    "MODEL_ORDER",
    "Alert",
    "AlertSource",
    "Alerter",
    "BrokerAlerts",
    "CheckEvaluation",
    "Clock",
    "ConnectivityHook",
    "CycleKind",
    "CyclePlan",
    "CycleRequest",
    "IbSession",
    "MarketStateRow",
    "MarketWatch",
    "ModelKind",
    "ModelPeriod",
    "ModelRequest",
    "NewAlert",
    "ObservedTransition",
    "SessionOrders",
    "Tick",
    "UnknownAlert",
    "WatchCursor",
    "acknowledge",
    "check_alert",
    "check_webhook_url",
    "cycle_key",
    "execute_targets",
    "fallback_cron",
    "foreign_order_alerts",
    "get_alert",
    "ib_session",
    "kill_switch_alerts",
    "list_alerts",
    "list_transitions",
    "missed_cycle_alerts",
    "pending_cycle",
    "plan_cycle",
    "record_transitions",
    "run_failure_alert",
]
