"""Random streams: one independent, named child stream per component, so components never shift each other."""

from __future__ import annotations

import zlib

import numpy as np
from scipy.signal import lfilter


def stream(seed: int, component: str) -> np.random.Generator:
    """A generator seeded by (seed, component name); stable across runs, platforms and code changes elsewhere."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(component.encode())])))


def student_t(rng: np.random.Generator, dof: float, size: int | tuple[int, ...]) -> np.ndarray:
    """Student-t draws scaled to unit variance."""
    return rng.standard_t(dof, size=size) * np.sqrt((dof - 2.0) / dof)


def ar1(rng: np.random.Generator, phi: float, n_steps: int, n_series: int) -> np.ndarray:
    """Stationary Gaussian AR(1) paths with unit variance, shape (n_steps, n_series)."""
    noise = rng.standard_normal((n_steps, n_series))
    scale = np.sqrt(1.0 - phi * phi)
    # y[t] = phi * y[t-1] + scale * e[t]; the first input is rescaled so y[0] is a stationary N(0, 1) draw.
    if scale > 0:
        noise[0] /= scale
    return lfilter([scale], [1.0, -phi], noise, axis=0)
