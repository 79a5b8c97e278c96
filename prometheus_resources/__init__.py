"""Dagster resources wrapping the library, chosen by mode when the definitions are built."""

from prometheus_resources.broker import BacktestBrokerResource, IbBrokerResource, broker_resource_for
from prometheus_resources.factory import resources_for
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource, RuntimeStoreResource

__all__ = [
    "BacktestBrokerResource",
    "CalendarResource",
    "HistoricalStoreResource",
    "IbBrokerResource",
    "RuntimeStoreResource",
    "broker_resource_for",
    "resources_for",
]
