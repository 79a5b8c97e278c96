"""Resources for the two stores and the calendar."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import dagster as dg

from prometheus.calendar import TradingCalendar
from prometheus.data.store import HistoricalStore
from prometheus.runtime.store import RuntimeStore


class HistoricalStoreResource(dg.ConfigurableResource):
    """The Parquet lake + DuckDB catalog under the data root."""

    data_root: str

    def store(self) -> HistoricalStore:
        """A store over ``<data_root>/lake``."""
        return HistoricalStore(Path(self.data_root) / "lake")


#: Runtime store URLs migrated by this process: migrations run once per process, not per materialisation.
_MIGRATED: set[str] = set()
_MIGRATE_LOCK = threading.Lock()


class RuntimeStoreResource(dg.ConfigurableResource):
    """The runtime store (SQLite by default, PostgreSQL in production)."""

    url: str

    def store(self) -> RuntimeStore:
        """A store at ``url``, migrated to the latest schema the first time this process asks for it."""
        store = RuntimeStore(self.url)
        with _MIGRATE_LOCK:
            if self.url not in _MIGRATED:
                store.upgrade()
                _MIGRATED.add(self.url)
        return store


class CalendarResource(dg.ConfigurableResource):
    """The TradingCalendar with the configured state windows."""

    pre_open_minutes: int = 60
    post_close_minutes: int = 60

    def calendar(self) -> TradingCalendar:
        """A calendar with this resource's windows."""
        return TradingCalendar(timedelta(minutes=self.pre_open_minutes), timedelta(minutes=self.post_close_minutes))
