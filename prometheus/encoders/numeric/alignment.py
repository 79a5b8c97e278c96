"""Keeping embedding dimensions aligned across retrains (pure numpy).

The first model is rotated onto the principal axes of its reference embeddings (sorted by variance, signs
fixed); every retrain is rotated onto its predecessor by orthogonal Procrustes on the same reference windows,
so downstream models see the same features in the same columns.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import orthogonal_procrustes


def pca_rotation(reference: np.ndarray) -> np.ndarray:
    """Orthogonal (dim, dim) matrix mapping embeddings onto their principal axes, largest variance first."""
    centred = reference - reference.mean(axis=0)
    cov = centred.T @ centred / max(len(reference) - 1, 1)
    values, vectors = np.linalg.eigh(cov)
    vectors = vectors[:, np.argsort(values)[::-1]]
    return vectors * _signs(vectors)


def procrustes_rotation(new: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, float]:
    """Orthogonal R minimising ||new @ R - previous||, and the residual relative to ||previous||."""
    rotation, _ = orthogonal_procrustes(new, previous)
    residual = float(np.linalg.norm(new @ rotation - previous) / max(np.linalg.norm(previous), 1e-12))
    return rotation, residual


def rotate_head(state: dict[str, np.ndarray], rotation: np.ndarray) -> dict[str, np.ndarray]:
    """Weights whose output is ``output @ rotation``: the 1x1 head becomes R^T W, R^T b."""
    out = dict(state)
    w = state["head.weight"]  # (dim, channels, 1)
    out["head.weight"] = np.einsum("dk,dcl->kcl", rotation, w).astype(np.float32)
    out["head.bias"] = (rotation.T @ state["head.bias"]).astype(np.float32)
    return out


def _signs(vectors: np.ndarray) -> np.ndarray:
    # A principal axis is defined up to sign: make the largest loading of each axis positive.
    idx = np.argmax(np.abs(vectors), axis=0)
    return np.where(vectors[idx, np.arange(vectors.shape[1])] < 0, -1.0, 1.0)
