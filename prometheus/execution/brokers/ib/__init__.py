"""Interactive Brokers (PAPER and LIVE) through ``ib_async``: config, pure mapping, the broker.

``ib_async`` itself is imported on the first connect, so importing this package stays cheap.
"""

from prometheus.execution.brokers.ib.broker import IbBroker, IbOpenOrder, IbStatus
from prometheus.execution.brokers.ib.config import IbConfig
from prometheus.execution.brokers.ib.mapping import (
    ORDER_TYPES,
    IbAccountRefused,
    IbClientIdInUse,
    IbConnectionError,
    check_account,
    is_paper_account,
    mask_account,
)

__all__ = [
    "ORDER_TYPES",
    "IbAccountRefused",
    "IbBroker",
    "IbClientIdInUse",
    "IbConfig",
    "IbConnectionError",
    "IbOpenOrder",
    "IbStatus",
    "check_account",
    "is_paper_account",
    "mask_account",
]
