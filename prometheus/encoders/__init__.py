"""Encoders: a causal numeric encoder of return windows and the MiniLM news encoder, with their lake I/O.

Profiles are a layer above, in :mod:`prometheus.profiles`.

Importing this package does not import torch or sentence-transformers: they load when a model trains or runs.
"""

from prometheus.encoders.config import DEMO_NUMERIC, EncoderKind, NumericEncoderConfig, RetrainPeriod, TextEncoderConfig
from prometheus.encoders.pipeline import (
    LakeContext,
    model_in_force,
    train_numeric_model,
    write_news_embeddings,
    write_numeric_embeddings,
)

__all__ = [
    "DEMO_NUMERIC",
    "EncoderKind",
    "LakeContext",
    "NumericEncoderConfig",
    "RetrainPeriod",
    "TextEncoderConfig",
    "model_in_force",
    "train_numeric_model",
    "write_news_embeddings",
    "write_numeric_embeddings",
]
