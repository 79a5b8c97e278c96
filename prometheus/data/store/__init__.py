"""The historical store: Parquet lake partitioned by market and period, DuckDB views as the catalog."""

from prometheus.data.store._layout import Partition
from prometheus.data.store._lock import DEFAULT_LOCK_TIMEOUT_S, LockHolder, StoreLockedError
from prometheus.data.store._sql import ReadOnlyQueryError
from prometheus.data.store._transaction import StoreTransaction
from prometheus.data.store.historical import HistoricalStore

__all__ = [
    "DEFAULT_LOCK_TIMEOUT_S",
    "HistoricalStore",
    "LockHolder",
    "Partition",
    "ReadOnlyQueryError",
    "StoreLockedError",
    "StoreTransaction",
]
