"""The numeric encoder: causal features, walk-forward training, alignment and artifacts.

torch is imported only by ``network`` and ``training``, which the walk-forward functions import when they run.
"""

from prometheus.encoders.numeric.artifacts import NumericModel, artifact_dir, load_model, save_model
from prometheus.encoders.numeric.features import CHANNELS, Features, compute_features
from prometheus.encoders.numeric.walkforward import (
    EMBEDDING_COLUMNS,
    Period,
    WalkForward,
    embed_period,
    embeddable,
    features_of,
    retraining_periods,
    run_walk_forward,
    train_period,
)

__all__ = [
    "CHANNELS",
    "EMBEDDING_COLUMNS",
    "Features",
    "NumericModel",
    "Period",
    "WalkForward",
    "artifact_dir",
    "compute_features",
    "embed_period",
    "embeddable",
    "features_of",
    "load_model",
    "retraining_periods",
    "run_walk_forward",
    "save_model",
    "train_period",
]
