"""Features for the Assessment models: the Alpha158 price family, point in time.

Layer 4 (above ``profiles``, below ``engines``): reads history through a TimeMachine view (``prometheus.data``),
never a store; pure expressions in :mod:`~prometheus.features.alpha158`, the point-in-time reader in
:mod:`~prometheus.features.panel`.
"""

from prometheus.features.alpha158 import (
    BAR_COLUMNS,
    FEATURE_NAMES,
    FEATURES,
    LOOKBACK_SESSIONS,
    OUTPUT_KEY,
    OUTPUT_SCHEMA,
    WINDOWS,
    Family,
    Feature,
    compute_alpha158,
    expression,
    features_markdown,
)
from prometheus.features.panel import FEATURE_TABLES, point_in_time_alpha158

__all__ = [
    "BAR_COLUMNS",
    "FEATURES",
    "FEATURE_NAMES",
    "FEATURE_TABLES",
    "LOOKBACK_SESSIONS",
    "OUTPUT_KEY",
    "OUTPUT_SCHEMA",
    "WINDOWS",
    "Family",
    "Feature",
    "compute_alpha158",
    "expression",
    "features_markdown",
    "point_in_time_alpha158",
]
