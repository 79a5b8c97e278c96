"""MarketPanel: dense (session x instrument) arrays the MarketSimulator and BacktestBroker read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from prometheus.core.errors import DataError

#: Arrays of a panel: name -> meaning. Every array has shape (n_sessions, n_instruments), float64 unless noted.
PANEL_SCHEMA: dict[str, str] = {
    "open": "raw opening price (NaN: no bar)",
    "high": "raw session high",
    "low": "raw session low",
    "close": "raw closing price",
    "volume": "shares traded in the session (0 or NaN: no fills possible)",
    "adv": "average daily volume in shares known before the session (impact and participation)",
    "sigma": "daily return volatility known before the session (impact)",
    "tradable": "bool; False when the name is halted or delisted that session",
}


@dataclass(frozen=True)
class MarketPanel:
    """Prices and volumes of one market, aligned by session and instrument.

    ``ts`` holds the UTC instant of each session's close (stamps of fills and events). ``adv`` and ``sigma``
    must use data known before each session; :func:`trailing_adv_sigma` builds them that way.
    """

    sessions: Sequence[date]
    ts: Sequence[datetime]
    instruments: Sequence[str]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    adv: np.ndarray
    sigma: np.ndarray
    tradable: np.ndarray

    def __post_init__(self) -> None:
        shape = (len(self.sessions), len(self.instruments))
        for name in PANEL_SCHEMA:
            arr = getattr(self, name)
            if arr.shape != shape:
                raise DataError(f"array shape {arr.shape}, expected {shape}", field=name)
        if len(self.ts) != shape[0]:
            raise DataError(f"{len(self.ts)} timestamps for {shape[0]} sessions", field="ts")
        if any(t.tzinfo is None for t in self.ts):
            raise DataError("timestamps must be timezone-aware UTC", field="ts")
        if list(self.sessions) != sorted(set(self.sessions)):
            raise DataError("sessions must be strictly increasing", field="sessions")

    @classmethod
    def from_ohlcv(
        cls,
        sessions: Sequence[date],
        ts: Sequence[datetime],
        instruments: Sequence[str],
        ohlcv: dict[str, np.ndarray],
        *,
        tradable: np.ndarray | None = None,
        window: int = 20,
    ) -> MarketPanel:
        """Build a panel from OHLCV arrays; ADV and sigma are trailing ``window``-session figures."""
        close = np.asarray(ohlcv["close"], dtype=float)
        volume = np.asarray(ohlcv["volume"], dtype=float)
        adv, sigma = trailing_adv_sigma(close, volume, window)
        if tradable is None:
            tradable = np.isfinite(close)
        return cls(
            sessions=list(sessions),
            ts=list(ts),
            instruments=list(instruments),
            open=np.asarray(ohlcv.get("open", close), dtype=float),
            high=np.asarray(ohlcv.get("high", close), dtype=float),
            low=np.asarray(ohlcv.get("low", close), dtype=float),
            close=close,
            volume=volume,
            adv=adv,
            sigma=sigma,
            tradable=np.asarray(tradable, dtype=bool),
        )


def trailing_adv_sigma(close: np.ndarray, volume: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing mean volume and return std over the ``window`` sessions *before* each session (NaN at first).

    Shifted by one session so that a fill on session t never uses t's own volume or return.
    """
    n_t = close.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        rets = np.vstack([np.full((1, close.shape[1]), np.nan), close[1:] / close[:-1] - 1.0])
    adv = np.full(close.shape, np.nan)
    sigma = np.full(close.shape, np.nan)
    vol = np.nan_to_num(volume, nan=0.0)
    r = np.nan_to_num(rets, nan=0.0)
    csum_v = np.vstack([np.zeros((1, close.shape[1])), np.cumsum(vol, axis=0)])
    csum_r = np.vstack([np.zeros((1, close.shape[1])), np.cumsum(r, axis=0)])
    csum_r2 = np.vstack([np.zeros((1, close.shape[1])), np.cumsum(r * r, axis=0)])
    if n_t > window + 1:
        hi, lo = (
            slice(window + 1, n_t),
            slice(1, n_t - window),
        )  # rows t and t - window: sessions t-window..t-1
        adv[window + 1 :] = (csum_v[hi] - csum_v[lo]) / window
        mean = (csum_r[hi] - csum_r[lo]) / window
        var = (csum_r2[hi] - csum_r2[lo]) / window - mean * mean
        sigma[window + 1 :] = np.sqrt(np.maximum(var * window / (window - 1), 0.0))
    return adv, sigma
