"""The latent regime path: a 3-state Markov chain (calm, normal, crisis) with geometric visit durations."""

from __future__ import annotations

import numpy as np

from prometheus.data.synthetic._random import stream
from prometheus.data.synthetic.config import SyntheticConfig

#: Where the chain goes when it leaves a regime (rows: from calm/normal/crisis; columns: to). Crises mostly
#: start from normal markets and mostly end in them, as in post-war US equity history.
EXIT_PROBABILITIES = np.array(
    [
        [0.0, 0.85, 0.15],
        [0.60, 0.0, 0.40],
        [0.25, 0.75, 0.0],
    ]
)
_MAX_DRAWS = 200


def transition_matrix(durations: tuple[float, float, float]) -> np.ndarray:
    """Daily transition matrix whose mean visit lengths are ``durations``."""
    stay = 1.0 - 1.0 / np.asarray(durations, dtype=float)
    return np.diag(stay) + (1.0 - stay)[:, None] * EXIT_PROBABILITIES


def stationary_distribution(matrix: np.ndarray) -> np.ndarray:
    """Left eigenvector of ``matrix`` for eigenvalue 1, normalised to sum 1."""
    values, vectors = np.linalg.eig(matrix.T)
    v = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
    return v / v.sum()


def _draw_path(rng: np.random.Generator, durations: np.ndarray, start_p: np.ndarray, n: int) -> np.ndarray:
    path = np.empty(n, dtype=np.int8)
    state = int(rng.choice(3, p=start_p))
    t = 0
    while t < n:
        length = int(rng.geometric(1.0 / durations[state]))
        path[t : t + length] = state
        t += length
        state = int(rng.choice(3, p=EXIT_PROBABILITIES[state]))
    return path


def simulate_regimes(cfg: SyntheticConfig, n_sessions: int) -> np.ndarray:
    """Regime ordinals per session (int8). Redraws (same stream, deterministic) until every regime has at least
    ``min_regime_sessions`` sessions, so that small test markets still contain a crisis; gives up after a fixed
    number of draws and returns the last one."""
    rng = stream(cfg.seed, "regimes")
    durations = np.asarray(cfg.regime_durations, dtype=float)
    start_p = stationary_distribution(transition_matrix(cfg.regime_durations))
    need = min(cfg.min_regime_sessions, n_sessions // 6)
    path = _draw_path(rng, durations, start_p, n_sessions)
    for _ in range(_MAX_DRAWS):
        if np.bincount(path, minlength=3).min() >= need:
            break
        path = _draw_path(rng, durations, start_p, n_sessions)
    return path
