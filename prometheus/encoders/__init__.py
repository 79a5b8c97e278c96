"""Encoders: a causal numeric encoder of return windows and the MiniLM news encoder, with their lake I/O.

Importing this package does not import torch or sentence-transformers: they load when a model trains or runs.
"""

from prometheus.encoders.config import EncoderKind, NumericEncoderConfig, RetrainPeriod, TextEncoderConfig
from prometheus.encoders.panel import PRICE_INPUT_COLUMNS, PricePanel, load_price_panel, panel_from_frame
from prometheus.encoders.pipeline import (
    DEMO_NUMERIC,
    EncoderBuildSummary,
    LakeContext,
    build_default,
    model_in_force,
    train_numeric_model,
    write_news_embeddings,
    write_numeric_embeddings,
    write_profiles,
)

__all__ = [
    "DEMO_NUMERIC",
    "PRICE_INPUT_COLUMNS",
    "EncoderBuildSummary",
    "EncoderKind",
    "LakeContext",
    "NumericEncoderConfig",
    "PricePanel",
    "RetrainPeriod",
    "TextEncoderConfig",
    "build_default",
    "load_price_panel",
    "model_in_force",
    "panel_from_frame",
    "train_numeric_model",
    "write_news_embeddings",
    "write_numeric_embeddings",
    "write_profiles",
]
