"""Map the mode and settings to the resources of a code location (called while building definitions)."""

from __future__ import annotations

from typing import Any

from prometheus.core.settings import Settings
from prometheus_resources.broker import broker_resource_for
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource


def resources_for(settings: Settings) -> dict[str, Any]:
    """Resources keyed as the assets expect them: ``historical``, ``runtime``, ``calendar``, ``broker``."""
    return {
        "historical": HistoricalStoreResource(data_root=str(settings.data_path)),
        "runtime": RuntimeStoreResource(url=settings.effective_runtime_db_url),
        "calendar": CalendarResource(
            pre_open_minutes=settings.pre_open_minutes, post_close_minutes=settings.post_close_minutes
        ),
        "broker": broker_resource_for(settings),
    }
