"""The historical store: Parquet lake partitioned by market and period, DuckDB views as the catalog."""

from prometheus.data.store._layout import Partition
from prometheus.data.store._sql import ReadOnlyQueryError
from prometheus.data.store.historical import HistoricalStore

__all__ = ["HistoricalStore", "Partition", "ReadOnlyQueryError"]
