"""Walk-forward refits and online labelling over arrays: the pure core of the Regime engine.

A refit period is a block of calendar months (a year by default). Its model is trained on the sessions before
the period starts, so it is known at the decision time of the last training session, before the first session it
labels. Labels inside a period come from the model's online filter started ``online_warmup_sessions`` before the
period, so each label depends on the rows up to its own session only and never on where a run starts or ends.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from prometheus.core.errors import DataError
from prometheus.engines.periods import period_of
from prometheus.engines.regime.config import RegimeConfig
from prometheus.engines.regime.model import RegimeModel, fit_regime_model


@dataclass(frozen=True)
class History:
    """Aligned per-session arrays: sessions (increasing), feature rows, market returns, decision times."""

    sessions: Sequence[date]
    features: np.ndarray
    returns: np.ndarray
    decision_times: Sequence[datetime]

    def index_before(self, day: date) -> int:
        """Number of sessions strictly before ``day``."""
        return int(np.searchsorted(np.array(self.sessions, dtype="datetime64[D]"), np.datetime64(day, "D")))


def train_model(history: History, period: tuple[date, date], cfg: RegimeConfig) -> RegimeModel:
    """Fit the model of ``period`` on the last ``train_sessions`` sessions before it.

    Raises
    ------
    DataError
        Not enough history before the period.
    """
    end = history.index_before(period[0])
    start = max(0, end - cfg.train_sessions)
    if end - start < cfg.min_train_sessions:
        raise DataError(
            f"regime: {end - start} sessions of history before {period[0]}, need {cfg.min_train_sessions}",
            field="sessions",
        )
    meta = {
        "period_start": period[0],
        "period_end": period[1],
        "train_first": history.sessions[start],
        "train_last": history.sessions[end - 1],
        "known_at": history.decision_times[end - 1],
    }
    return fit_regime_model(history.features[start:end], history.returns[start:end], cfg, meta)


def label_online(
    history: History,
    targets: Sequence[int],
    cfg: RegimeConfig,
    models: MutableMapping[tuple[date, date], RegimeModel],
) -> tuple[np.ndarray, list[str]]:
    """State probabilities (len(targets), n_states) and model ids of the target sessions (indices, increasing).

    ``models`` is read for models already fitted and receives those fitted here.
    """
    probs = np.empty((len(targets), cfg.n_states))
    ids: list[str] = []
    by_period: dict[tuple[date, date], list[int]] = {}
    for pos, i in enumerate(targets):
        by_period.setdefault(period_of(history.sessions[i], cfg.refit_months), []).append(pos)
    for period, positions in by_period.items():
        if period not in models:
            models[period] = train_model(history, period, cfg)
        model = models[period]
        first = history.index_before(period[0])
        s0 = max(0, first - cfg.online_warmup_sessions)
        while s0 < first and not np.isfinite(history.features[s0, : model.n_features]).all():
            s0 += 1  # the filter starts on the first complete row of the warm-up
        last = targets[positions[-1]]
        p = model.predict_proba_online(history.features[s0 : last + 1])
        for pos in positions:
            probs[pos] = p[targets[pos] - s0]
            ids.append(model.model_id)
    return probs, ids
