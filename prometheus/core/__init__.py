"""Settings, identifiers, time helpers and the error hierarchy shared by every layer."""

from prometheus.core.errors import (
    BrokerError,
    ConfigError,
    DataError,
    LookAheadError,
    PrometheusError,
    StoreError,
)
from prometheus.core.types import Market, MarketState, Mode

__all__ = [
    "BrokerError",
    "ConfigError",
    "DataError",
    "LookAheadError",
    "Market",
    "MarketState",
    "Mode",
    "PrometheusError",
    "StoreError",
]
