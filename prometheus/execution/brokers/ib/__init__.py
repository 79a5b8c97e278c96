"""Interactive Brokers (PAPER and LIVE) through ``ib_async``: config, pure mapping, the broker.

``ib_async`` itself is imported on the first connect, so importing this package stays cheap.
"""

from prometheus.execution.brokers.ib.broker import IbBroker
from prometheus.execution.brokers.ib.config import ForeignPolicy, IbConfig
from prometheus.execution.brokers.ib.mapping import (
    ORDER_TYPES,
    IbAccountRefused,
    IbClientIdInUse,
    IbConnectionError,
    check_account,
    is_paper_account,
    mask_account,
)
from prometheus.execution.brokers.ib.reconcile import ForeignAction, ForeignOrder, ReconcileReport
from prometheus.execution.brokers.ib.status import IbOpenOrder, IbStatus

__all__ = [
    "ORDER_TYPES",
    "ForeignAction",
    "ForeignOrder",
    "ForeignPolicy",
    "IbAccountRefused",
    "IbBroker",
    "IbClientIdInUse",
    "IbConfig",
    "IbConnectionError",
    "IbOpenOrder",
    "IbStatus",
    "ReconcileReport",
    "check_account",
    "is_paper_account",
    "mask_account",
]
