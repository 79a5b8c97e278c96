"""Regime engine: walk-forward statistical jump model (HMM baseline) on the market series."""

from prometheus.data.market_series import SeriesReader
from prometheus.engines.regime.config import RegimeConfig, RegimeLabel, RegimeMethod, labels_for
from prometheus.engines.regime.engine import RegimeEngine, ReturnsReader
from prometheus.engines.regime.features import (
    FeatureScaler,
    cross_section_features,
    cross_section_names,
    daily_cross_section,
    ewm_features,
    feature_names,
    regime_features,
)
from prometheus.engines.regime.model import RegimeModel, fit_regime_model, forward_filter
from prometheus.engines.regime.models import load_models, model_path, save_model
from prometheus.engines.regime.plot import crisis_plot_png
from prometheus.engines.regime.schema import REGIME_SPEC
from prometheus.engines.regime.walk import History, label_online, period_of, train_model

__all__ = [
    "REGIME_SPEC",
    "FeatureScaler",
    "History",
    "RegimeConfig",
    "RegimeEngine",
    "RegimeLabel",
    "RegimeMethod",
    "RegimeModel",
    "ReturnsReader",
    "SeriesReader",
    "crisis_plot_png",
    "cross_section_features",
    "cross_section_names",
    "daily_cross_section",
    "ewm_features",
    "feature_names",
    "fit_regime_model",
    "forward_filter",
    "label_online",
    "labels_for",
    "load_models",
    "model_path",
    "period_of",
    "regime_features",
    "save_model",
    "train_model",
]
