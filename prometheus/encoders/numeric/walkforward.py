"""Walk-forward training and embedding of the numeric encoder over a price panel (no store I/O).

A model per retraining period, trained on the ``train_sessions`` sessions before the period (only data known
before it starts), warm-started from the previous model and rotated onto it (Procrustes; PCA for the first).
The embeddings of a period's sessions come from the model of that period.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from prometheus.data.panel import PricePanel
from prometheus.data.schema import EMBEDDING
from prometheus.encoders.config import NumericEncoderConfig, RetrainPeriod
from prometheus.encoders.numeric.alignment import pca_rotation, procrustes_rotation, rotate_head
from prometheus.encoders.numeric.artifacts import NumericModel
from prometheus.encoders.numeric.features import (
    CHANNELS,
    Features,
    compute_features,
    coverage,
    fit_scales,
    scaled_inputs,
)

#: Columns of an embeddings frame (the ``instrument_embeddings`` table).
EMBEDDING_COLUMNS = ("market", "date", "symbol", "config_version", "model_version", "embedding", "known_at")


@dataclass(frozen=True)
class Period:
    """A retraining period: calendar days ``start`` to ``end`` inclusive."""

    start: date
    end: date


def retraining_periods(sessions: Sequence[date], retrain: RetrainPeriod) -> list[Period]:
    """The periods that contain ``sessions``, in order."""
    keys = sorted({_period_of(d, retrain) for d in sessions})
    return [Period(*k) for k in keys]


def _period_of(d: date, retrain: RetrainPeriod) -> tuple[date, date]:
    if retrain is RetrainPeriod.YEAR:
        return date(d.year, 1, 1), date(d.year, 12, 31)
    first = d.month if retrain is RetrainPeriod.MONTH else 3 * ((d.month - 1) // 3) + 1
    last = first if retrain is RetrainPeriod.MONTH else first + 2
    end = date(d.year + 1, 1, 1) if last == 12 else date(d.year, last + 1, 1)
    return date(d.year, first, 1), date.fromordinal(end.toordinal() - 1)


def features_of(panel: PricePanel, config: NumericEncoderConfig) -> Features:
    """The raw input features of ``panel``."""
    return compute_features(panel, beta_window=config.beta_window, volume_window=config.volume_window)


def embeddable(features: Features, config: NumericEncoderConfig) -> np.ndarray:
    """(sessions, names) mask of windows with a bar at t, enough coverage and a full lookback in the panel."""
    ok = features.observed & (coverage(features, config.receptive_field) >= config.min_coverage)
    ok[: config.lookback_sessions] = False  # earlier windows would depend on where the panel starts
    return ok


def train_period(
    panel: PricePanel,
    features: Features,
    period: Period,
    config: NumericEncoderConfig,
    previous: NumericModel | None,
) -> NumericModel | None:
    """Train the model of ``period`` on the sessions before it; None when there is too little history."""
    p0 = int(np.searchsorted(np.array(panel.sessions), period.start))
    valid = embeddable(features, config)
    rows = np.arange(max(0, p0 - config.train_sessions), p0)
    rows = rows[valid[rows].sum(axis=1) >= 2]
    if rows.size < config.min_train_sessions:
        return None
    from prometheus.encoders.numeric import training  # torch: imported only where encoders train

    seed = config.seed * 1_000_003 + period.start.toordinal()
    training.seed_everything(seed, config.threads)
    scales = fit_scales(features, slice(int(rows[0]), int(rows[-1]) + 1))
    inputs = scaled_inputs(features, scales, config.clip)
    names = _train_names(valid[rows], config, seed)
    train_valid = np.zeros_like(valid)
    train_valid[:, names] = valid[:, names]
    neighbours = _neighbours(features, rows, names)
    warm = config.warm_start and previous is not None
    state, loss = training.train_encoder(
        inputs, train_valid, neighbours, rows, config, seed=seed,
        init=previous.state if warm and previous else None,
        steps=config.steps_retrain if warm else config.steps_initial,
    )  # fmt: skip
    ref_rows = rows[-config.alignment_sessions :]
    mask = train_valid[ref_rows]
    new = training.embed(inputs, ref_rows, state, config)[mask]
    if previous is None:
        rotation, residual = pca_rotation(new), None
    else:
        old_inputs = scaled_inputs(features, previous.scales, config.clip)
        old = training.embed(old_inputs, ref_rows, previous.state, config)[mask]
        rotation, residual = procrustes_rotation(new, old)
    return NumericModel(
        market=panel.market, config=config, period_start=period.start, period_end=period.end,
        train_start=panel.sessions[int(rows[0])], train_end=panel.sessions[int(rows[-1])],
        known_at=panel.decision_times[int(rows[-1])], seed=seed, scales=scales,
        state=rotate_head(state, rotation), train_loss=loss, alignment_residual=residual,
    )  # fmt: skip


def embed_period(panel: PricePanel, features: Features, model: NumericModel, period: Period) -> pl.DataFrame:
    """Embeddings of the panel's sessions inside ``period`` with ``model`` (columns :data:`EMBEDDING_COLUMNS`)."""
    from prometheus.encoders.numeric import training  # torch: imported only where encoders run

    days = np.array(panel.sessions)
    rows = np.flatnonzero((days >= period.start) & (days <= period.end))
    valid = embeddable(features, model.config)
    rows = rows[valid[rows].any(axis=1)]
    if rows.size == 0:
        return empty_embeddings()
    inputs = scaled_inputs(features, model.scales, model.config.clip)
    z = training.embed(inputs, rows, model.state, model.config)
    t, i = np.nonzero(valid[rows])
    return pl.DataFrame(
        {
            "market": panel.market.value,
            "date": pl.Series(np.array(panel.sessions, dtype="datetime64[D]")[rows[t]]),
            "symbol": pl.Series(np.array(panel.symbols, dtype=object)[i], dtype=pl.String()),
            "config_version": model.config.config_version,
            "model_version": model.model_version,
            "embedding": pl.Series(z[t, i]).cast(EMBEDDING),
            "known_at": pl.Series(list(panel.decision_times)).dt.cast_time_unit("us").gather(rows[t]),
        }
    )


def empty_embeddings() -> pl.DataFrame:
    """An embeddings frame without rows."""
    from prometheus.data.schema import INSTRUMENT_EMBEDDINGS

    return INSTRUMENT_EMBEDDINGS.empty()


@dataclass(frozen=True)
class WalkForward:
    """Models (one per period that had enough history) and the embeddings they produced."""

    models: tuple[NumericModel, ...]
    embeddings: pl.DataFrame


def run_walk_forward(
    panel: PricePanel,
    config: NumericEncoderConfig,
    *,
    first_period: date | None = None,
    previous: NumericModel | None = None,
) -> WalkForward:
    """Train a model per retraining period of the panel (from ``first_period``) and embed each period."""
    features = features_of(panel, config)
    models: list[NumericModel] = []
    frames: list[pl.DataFrame] = []
    for period in retraining_periods(panel.sessions, config.retrain):
        if first_period is not None and period.end < first_period:
            continue
        model = train_period(panel, features, period, config, previous)
        if model is None:
            continue
        models.append(model)
        frames.append(embed_period(panel, features, model, period))
        previous = model
    embeddings = pl.concat(frames) if frames else empty_embeddings()
    return WalkForward(tuple(models), embeddings)


def _train_names(valid: np.ndarray, config: NumericEncoderConfig, seed: int) -> np.ndarray:
    eligible = np.flatnonzero(valid.sum(axis=0) >= valid.shape[0] // 2)
    if config.max_train_names is None or eligible.size <= config.max_train_names:
        return eligible
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(eligible, size=config.max_train_names, replace=False))


def _neighbours(features: Features, rows: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Each training name's most correlated other training name on residual returns (-1 for the rest)."""
    resid = features.values[rows][:, names, CHANNELS.index("residual")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centred = np.nan_to_num(resid - np.nanmean(resid, axis=0), nan=0.0)
    norm = np.linalg.norm(centred, axis=0)
    corr = (centred.T @ centred) / np.maximum(np.outer(norm, norm), 1e-12)
    np.fill_diagonal(corr, -np.inf)
    out = np.full(features.values.shape[1], -1, dtype=np.int64)
    out[names] = names[np.argmax(corr, axis=1)]
    return out
