"""Per-scope state of the stability measures: each session's measures and their trailing statistics."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from prometheus.engines.covariance import absorption_ratio, shrunk_spectrum
from prometheus.engines.stability.config import StabilityConfig
from prometheus.engines.stability.measures import (
    average_correlation,
    delta_absorption,
    mahalanobis,
    trailing_percentile,
    trailing_zscore,
)
from prometheus.engines.stability.schema import StabilityComponent as C


def session_measures(returns: np.ndarray, cfg: StabilityConfig) -> dict[str, float]:
    """Absorption ratio, turbulence and average correlation of one complete (rows, names) window."""
    ar_spec = shrunk_spectrum(returns[-cfg.ar_window :], standardise=True)
    history = returns[-cfg.turbulence_window - 1 : -1]
    turb_spec = shrunk_spectrum(history, eigen=False)
    return {
        C.ABSORPTION_RATIO: absorption_ratio(ar_spec, cfg.ar_fraction),
        C.TURBULENCE: mahalanobis(turb_spec, returns[-1], history.mean(axis=0)),
        C.AVG_CORRELATION: average_correlation(returns[-cfg.corr_window :]),
        C.NAMES: float(returns.shape[1]),
    }


class _History:
    """The last ``cap`` values appended, in a preallocated buffer (a list turned into an array every session cost
    more than the statistics read from it)."""

    def __init__(self, cap: int) -> None:
        self._buf, self._cap, self._start, self._end = np.empty(2 * cap), cap, 0, 0

    def push(self, value: float) -> np.ndarray:
        """Append ``value``; returns the history as a fresh array, as ``np.asarray`` of a list would."""
        if self._end == len(self._buf):
            keep = self._end - self._start
            self._buf[:keep] = self._buf[self._start : self._end]
            self._start, self._end = 0, keep
        self._buf[self._end] = value
        self._end += 1
        self._start = max(self._start, self._end - self._cap)
        # A copy, not a view: numpy's reductions may round differently on a differently aligned view.
        return self._buf[self._start : self._end].copy()

    def values(self) -> np.ndarray:
        """The history (oldest first)."""
        return self._buf[self._start : self._end].copy()


class ScopeTracker:
    """Histories of one scope (the market or a sector); :meth:`update` appends one session."""

    def __init__(self, cfg: StabilityConfig) -> None:
        self._cfg = cfg
        self._cap = cfg.series_warmup + 1
        self._series = {str(k): _History(self._cap) for k in (C.ABSORPTION_RATIO, C.TURBULENCE,
                                                                C.AVG_CORRELATION, C.COMPOSITE)}  # fmt: skip
        self._zs = {k: _History(self._cap) for k in ("ar", "corr", "turb")}

    def state(self) -> dict[str, np.ndarray]:
        """The histories as arrays (``series/<name>`` and ``zs/<name>``), for a checkpoint."""
        out = {f"series/{k}": h.values() for k, h in self._series.items()}
        return out | {f"zs/{k}": h.values() for k, h in self._zs.items()}

    @classmethod
    def from_state(cls, cfg: StabilityConfig, state: Mapping[str, np.ndarray]) -> ScopeTracker:
        """A tracker that continues from :meth:`state` (same values, bit for bit).

        Raises
        ------
        ValueError
            ``state`` lacks a history or has one the tracker does not keep.
        """
        tracker = cls(cfg)
        expected = set(tracker.state())
        if set(state) != expected:
            raise ValueError(f"tracker state has {sorted(state)}, expected {sorted(expected)}")
        for key, values in state.items():
            kind, name = key.split("/", 1)
            history = (tracker._series if kind == "series" else tracker._zs)[name]
            for v in np.asarray(values, dtype=float)[-tracker._cap :]:
                history.push(float(v))
        return tracker

    def _push(self, store: dict[str, _History], key: str, value: float) -> np.ndarray:
        return store[key].push(value)

    def update(self, measures: dict[str, float] | None) -> tuple[float, dict[str, float]]:
        """Append a session (``None``: too few names) and return its score and components (NaN when undefined)."""
        cfg, nan = self._cfg, float("nan")
        m = measures or {}
        ar = self._push(self._series, C.ABSORPTION_RATIO, m.get(C.ABSORPTION_RATIO, nan))
        turb = self._push(self._series, C.TURBULENCE, m.get(C.TURBULENCE, nan))
        corr = self._push(self._series, C.AVG_CORRELATION, m.get(C.AVG_CORRELATION, nan))
        past = turb[-cfg.turbulence_window - 1 : -1]
        past = past[np.isfinite(past)]
        threshold = float(np.quantile(past, cfg.turbulence_quantile)) if len(past) >= cfg.min_history else nan
        smooth = turb[-cfg.turbulence_smooth :]
        full = smooth.size == cfg.turbulence_smooth and bool(np.all(np.isfinite(smooth)))
        log_turb = math.log(float(np.mean(smooth))) if full else nan
        z = [
            trailing_zscore(self._push(self._zs, "ar", ar[-1])[-cfg.norm_window :], cfg.min_history),
            trailing_zscore(self._push(self._zs, "corr", corr[-1])[-cfg.norm_window :], cfg.min_history),
            trailing_zscore(self._push(self._zs, "turb", log_turb)[-cfg.norm_window :], cfg.min_history),
        ]
        composite = float(np.mean(z)) if all(np.isfinite(z)) else nan
        comp = self._push(self._series, C.COMPOSITE, composite)
        pct = trailing_percentile(comp[-cfg.score_window :], cfg.min_history)
        components = {
            C.ABSORPTION_RATIO: float(ar[-1]),
            C.DELTA_AR: delta_absorption(ar, cfg.delta_short, cfg.delta_long),
            C.TURBULENCE: float(turb[-1]),
            C.TURBULENCE_THRESHOLD: threshold,
            C.TURBULENT: float(turb[-1] > threshold) if np.isfinite(threshold) and np.isfinite(turb[-1]) else nan,
            C.AVG_CORRELATION: float(corr[-1]),
            C.COMPOSITE: composite,
            C.NAMES: m.get(C.NAMES, 0.0),
        }
        return 1.0 - pct, {str(k): v for k, v in components.items()}
