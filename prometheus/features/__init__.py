"""Features for the Assessment models: Alpha158 prices, residual returns and the non-price families, point in time.

Layer 4 (above ``profiles``, below ``engines``): reads history through a TimeMachine view (``prometheus.data``),
never a store, and engine outputs as plain frames; pure expressions in :mod:`~prometheus.features.alpha158`, its
point-in-time reader in :mod:`~prometheus.features.panel`; the non-price declarations in
:mod:`~prometheus.features.context`, their readers in :mod:`~prometheus.features.context_tables` and
:mod:`~prometheus.features.context_engines`; the market- and sector-neutral residual returns (every name's bars
through the point-in-time panel) in :mod:`~prometheus.features.residual`. ``features_markdown`` generates the
tables of ``docs/features.md``.
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
)
from prometheus.features.context import (
    CONTEXT_FEATURES,
    DEFAULT_EMBEDDING_DIMS,
    EARNINGS_AHEAD_DAYS,
    ENGINE_FEATURES,
    ContextFamily,
    ContextFeature,
    context_features,
    context_markdown,
    features_markdown,
)
from prometheus.features.context_engines import ENGINE_KEY, ENGINE_SCHEMA, REGIME_ORDINAL, engine_context
from prometheus.features.context_tables import CONTEXT_KEY, CONTEXT_TABLES, context_schema, point_in_time_context
from prometheus.features.panel import FEATURE_TABLES, point_in_time_alpha158
from prometheus.features.residual import (
    RESIDUAL_FEATURES,
    RESIDUAL_NAMES,
    RESIDUAL_SCHEMA,
    RESIDUAL_TABLES,
    RESIDUAL_WINDOW,
    ResidualFeature,
    point_in_time_residual,
    residual_features,
    residual_markdown,
    residual_returns,
)
from prometheus.features.signals import SIGNAL_PREFIX, SIGNAL_TABLES, point_in_time_signals

__all__ = [
    "BAR_COLUMNS",
    "CONTEXT_FEATURES",
    "CONTEXT_KEY",
    "CONTEXT_TABLES",
    "DEFAULT_EMBEDDING_DIMS",
    "EARNINGS_AHEAD_DAYS",
    "ENGINE_FEATURES",
    "ENGINE_KEY",
    "ENGINE_SCHEMA",
    "SIGNAL_PREFIX",
    "SIGNAL_TABLES",
    "FEATURES",
    "FEATURE_NAMES",
    "FEATURE_TABLES",
    "LOOKBACK_SESSIONS",
    "OUTPUT_KEY",
    "OUTPUT_SCHEMA",
    "REGIME_ORDINAL",
    "RESIDUAL_FEATURES",
    "RESIDUAL_NAMES",
    "RESIDUAL_SCHEMA",
    "RESIDUAL_TABLES",
    "RESIDUAL_WINDOW",
    "WINDOWS",
    "ContextFamily",
    "ContextFeature",
    "Family",
    "Feature",
    "ResidualFeature",
    "compute_alpha158",
    "context_features",
    "context_markdown",
    "context_schema",
    "engine_context",
    "expression",
    "features_markdown",
    "point_in_time_alpha158",
    "point_in_time_context",
    "point_in_time_residual",
    "point_in_time_signals",
    "residual_features",
    "residual_markdown",
    "residual_returns",
]
