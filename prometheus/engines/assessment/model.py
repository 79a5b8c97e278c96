"""One refit period's LightGBM model: training on purged, embargoed samples, scoring, calibration, persistence."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.engines.assessment.config import AssessmentConfig, Objective
from prometheus.engines.assessment.features import FeatureMatrix
from prometheus.engines.assessment.report import newey_west_se


@dataclass(frozen=True)
class TrainingSet:
    """Samples of one model: ``x`` (samples, features) float32, ``label`` in (-0.5, 0.5), ``forward_return``,
    ``group`` = samples per session in order (LambdaRank queries), and the sessions they span."""

    x: np.ndarray
    label: np.ndarray
    forward_return: np.ndarray
    group: np.ndarray
    sessions: tuple[date, ...]
    features: tuple[str, ...]


@dataclass(frozen=True)
class AssessmentModel:
    """A fitted model and what it was fitted on (its training window is part of its identity).

    ``calibration`` maps a prediction to an expected return: the slope of the session-demeaned forward return on the
    session-demeaned prediction over the training samples, so ``expected_return = calibration x (prediction -
    session mean prediction)`` is the H-session return expected relative to the cross-sectional mean.
    """

    market: str
    period_start: date
    period_end: date
    config_version: str
    objective: str
    features: tuple[str, ...]
    train_first: date
    train_last: date
    known_at: datetime  # the training cutoff: decision time of the last session before the period
    samples: int
    sessions: int
    calibration: float
    importance: dict[str, float]  # gain per feature
    booster: str = field(repr=False)  # LightGBM model text

    @property
    def model_version(self) -> str:
        """Content hash of config version, period and training window (16 hex digits)."""
        body = f"{self.config_version}|{self.period_start}|{self.train_first}|{self.train_last}|{self.known_at}"
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    @cached_property
    def _booster(self) -> Any:
        import lightgbm as lgb  # a ~0.3 s import, only where models are used

        return lgb.Booster(model_str=self.booster)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Raw predictions for rows of ``x`` (columns in :attr:`features` order)."""
        if x.shape[1] != len(self.features):
            raise DataError(f"model {self.model_version} expects {len(self.features)} features, got {x.shape[1]}",
                            field="features")  # fmt: skip
        return np.asarray(self._booster.predict(x, num_threads=1), dtype=float)

    def to_json(self) -> str:
        """The model as JSON (meta and booster text)."""
        body = asdict(self)
        for k in ("period_start", "period_end", "train_first", "train_last", "known_at"):
            body[k] = body[k].isoformat()
        body["features"] = list(self.features)
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AssessmentModel:
        """Inverse of :meth:`to_json`."""
        body = json.loads(text)
        for k in ("period_start", "period_end", "train_first", "train_last"):
            body[k] = date.fromisoformat(body[k])
        body["known_at"] = datetime.fromisoformat(body["known_at"])
        body["features"] = tuple(body["features"])
        return cls(**body)


def _lgb_params(cfg: AssessmentConfig) -> dict[str, Any]:
    p = cfg.lightgbm
    params: dict[str, Any] = {
        "num_leaves": p.num_leaves,
        "learning_rate": p.learning_rate,
        "min_data_in_leaf": p.min_data_in_leaf,
        "feature_fraction": p.feature_fraction,
        "bagging_fraction": p.bagging_fraction,
        "bagging_freq": p.bagging_freq,
        "lambda_l2": p.lambda_l2,
        "max_bin": p.max_bin,
        "extra_trees": p.extra_trees,
        "min_gain_to_split": p.min_gain_to_split,
        "seed": p.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }
    if p.num_threads:
        params["num_threads"] = p.num_threads
    if cfg.objective is Objective.LAMBDARANK:
        params |= {"objective": "lambdarank", "label_gain": list(range(cfg.relevance_grades)),
                   "lambdarank_truncation_level": 30}  # fmt: skip
    else:
        params["objective"] = "regression"
    return params


def _grades(label: np.ndarray, grades: int) -> np.ndarray:
    """Relevance grades 0 .. grades - 1 from the rank label in (-0.5, 0.5)."""
    return np.minimum(np.floor((label + 0.5) * grades), grades - 1).astype(np.int32)


def _demean(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    ids = np.repeat(np.arange(len(group)), group)
    means = np.bincount(ids, weights=values) / group
    return values - means[ids]


def fit_model(
    data: TrainingSet,
    cfg: AssessmentConfig,
    market: Market,
    period: tuple[date, date],
    known_at: datetime,
) -> AssessmentModel:
    """Fit the model of ``period`` on ``data``.

    Raises
    ------
    DataError
        Fewer sessions of samples than ``min_train_sessions``.
    """
    import lightgbm as lgb

    if len(data.sessions) < cfg.min_train_sessions:
        raise DataError(
            f"assessment: {len(data.sessions)} sessions of labelled samples before {period[0]} for {market.value}, "
            f"need {cfg.min_train_sessions}",
            field="sessions",
        )
    label = _grades(data.label, cfg.relevance_grades) if cfg.objective is Objective.LAMBDARANK else data.label
    dataset = lgb.Dataset(data.x, label=label, feature_name=list(data.features), free_raw_data=True,
                          group=data.group if cfg.objective is Objective.LAMBDARANK else None)  # fmt: skip
    booster = lgb.train(_lgb_params(cfg), dataset, num_boost_round=cfg.lightgbm.n_estimators)
    prediction = booster.predict(data.x, num_threads=1)
    p, r = _demean(prediction, data.group), _demean(data.forward_return, data.group)
    denom = float(p @ p)
    gains = booster.feature_importance(importance_type="gain")
    return AssessmentModel(
        market=market.value,
        period_start=period[0],
        period_end=period[1],
        config_version=cfg.config_version,
        objective=cfg.objective.value,
        features=data.features,
        train_first=data.sessions[0],
        train_last=data.sessions[-1],
        known_at=known_at,
        samples=int(len(data.label)),
        sessions=len(data.sessions),
        calibration=float(p @ r) / denom if denom > 0 else 0.0,
        importance={f: float(g) for f, g in zip(data.features, gains, strict=True)},
        booster=booster.model_to_string(),
    )


#: Newey-West lags of the screening t-stat, per session of horizon: daily ICs overlap for H sessions through the
#: label, and for longer through persistent features.
SCREEN_LAGS_PER_HORIZON = 4


def _nw_t(series: np.ndarray, lags: int) -> float:
    """Mean over its Newey-West (Bartlett) standard error; NaN for fewer than ten values."""
    x = series[np.isfinite(series)]
    if len(x) < 10:
        return float("nan")
    se = newey_west_se(x, lags)
    return float(np.mean(x) / se) if se > 0 else float("nan")


def screen_features(data: TrainingSet, horizon: int, min_t: float, keep: frozenset[str]) -> TrainingSet:
    """The training set restricted to the features whose mean daily rank IC with the label has |t| >= ``min_t``.

    Most price features carry little or nothing about a cross-sectional forward return, and a boosted model fed a
    hundred of them fits noise (on development markets the model then scored below its best single feature).
    Screening on the training window alone keeps the model point in time. Daily ICs overlap through the label and
    through persistent features, so the t-stat uses a Newey-West standard error. Features in ``keep``
    (market-level ones: no cross-sectional IC, they act through interactions) always stay; a window where
    nothing passes keeps everything.
    """
    chosen = _screened(lambda lo, n: data.x[lo : lo + n], data.label, data.group, data.features, horizon, min_t, keep)
    if chosen is None:
        return data
    return TrainingSet(data.x[:, chosen], data.label, data.forward_return, data.group, data.sessions,
                       tuple(f for f, c in zip(data.features, chosen, strict=True) if c))  # fmt: skip


def _screened(
    rows: Callable[[int, int], np.ndarray],
    label: np.ndarray,
    group: np.ndarray,
    features: tuple[str, ...],
    horizon: int,
    min_t: float,
    keep: frozenset[str],
) -> np.ndarray | None:
    """The features :func:`screen_features` keeps (a mask), None for all; ``rows(lo, n)`` gives samples lo..lo+n-1
    (every feature), so the caller need not hold all samples x all features at once."""
    if min_t <= 0 or len(label) == 0:
        return None
    ics = np.full((len(group), len(features)), np.nan)
    starts = np.concatenate([[0], np.cumsum(group)[:-1]])
    for g, (lo, n) in enumerate(zip(starts, group, strict=True)):
        if n < 3:
            continue
        x = rows(int(lo), int(n)).astype(float)
        y = label[lo : lo + n]
        finite = np.isfinite(x)
        mean = np.where(finite, x, 0.0).sum(axis=0) / np.maximum(finite.sum(axis=0), 1)
        xc = np.where(finite, x - mean, 0.0)  # a missing value contributes nothing
        yc = y - y.mean()
        denom = np.sqrt((xc**2).sum(axis=0) * (yc**2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            ics[g] = (xc * yc[:, None]).sum(axis=0) / denom
    t = np.array([_nw_t(ics[:, k], SCREEN_LAGS_PER_HORIZON * horizon) for k in range(ics.shape[1])])
    chosen = np.array([abs(v) >= min_t or f in keep for v, f in zip(t, features, strict=True)])
    if not chosen[[f not in keep for f in features]].any():
        return None
    return chosen


def matrix_training_set(
    matrix: FeatureMatrix,
    labels: pl.DataFrame,
    sessions: tuple[date, date],
    min_names: int,
    horizon: int,
    min_t: float,
    keep: frozenset[str],
) -> TrainingSet:
    """:func:`screen_features` of :func:`training_set` of the ``matrix`` rows dated in ``sessions`` (first, last),
    the same samples, values and features, without their intermediate copies.

    Memory: the (date, symbol) keys, not the feature rows, are joined to the labels; screening reads each session's
    rows from the matrix in turn; and only the kept columns of the samples are gathered, once, into the Float32
    array LightGBM reads (the joined frame, its filtered and sorted copies and the all-features array of
    :func:`training_set` were each a copy of the window x every feature).
    """
    keys = matrix.keys.filter(pl.col("date").is_between(*sessions))
    joined = keys.join(labels, on=["date", "symbol"], how="inner")
    counts = joined.group_by("date").len()
    kept = counts.filter(pl.col("len") >= min_names)["date"]
    joined = joined.filter(pl.col("date").is_in(kept.implode())).sort("date", "symbol")
    del keys, counts, kept
    rows = joined["row"].to_numpy()
    label = joined["label"].to_numpy()
    group = joined.group_by("date", maintain_order=True).len()["len"].to_numpy().astype(np.int64)
    chosen = _screened(lambda lo, n: matrix.take(rows[lo : lo + n]), label, group, matrix.features, horizon, min_t,
                       keep)  # fmt: skip
    columns = np.arange(len(matrix.features)) if chosen is None else np.nonzero(chosen)[0]
    return TrainingSet(
        x=matrix.take(rows, columns),
        label=label,
        forward_return=joined["forward_return"].to_numpy(),
        group=group,
        sessions=tuple(joined["date"].unique(maintain_order=True).to_list()),
        features=tuple(matrix.features[k] for k in columns),
    )


def training_set(features: pl.DataFrame, labels: pl.DataFrame, names: tuple[str, ...], min_names: int) -> TrainingSet:
    """Join features and labels on (date, symbol); sessions with fewer than ``min_names`` labelled names drop."""
    joined = features.join(labels, on=["date", "symbol"], how="inner")
    counts = joined.group_by("date").len()
    keep = counts.filter(pl.col("len") >= min_names)["date"]
    joined = joined.filter(pl.col("date").is_in(keep.implode())).sort("date", "symbol")
    group = joined.group_by("date", maintain_order=True).len()["len"].to_numpy()
    return TrainingSet(
        x=joined.select(names).cast(pl.Float32).to_numpy(),
        label=joined["label"].to_numpy(),
        forward_return=joined["forward_return"].to_numpy(),
        group=group.astype(np.int64),
        sessions=tuple(joined["date"].unique(maintain_order=True).to_list()),
        features=names,
    )


def model_path(root: Path, market: Market, version: str, period: tuple[date, date]) -> Path:
    """``<root>/assessment/<market>/<version[:16]>/<start>_<end>.json``; ``version`` is the lineage version (the
    config folded with the upstream engines' versions whose outputs were features)."""
    return root / "assessment" / market.value.lower() / version[:16] / f"{period[0]}_{period[1]}.json"


def save_model(model: AssessmentModel, root: Path, version: str) -> Path:
    """Write ``model`` under lineage ``version`` atomically (temporary file, then rename); returns its path."""
    path = model_path(root, Market(model.market), version, (model.period_start, model.period_end))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(model.to_json())
    tmp.replace(path)
    return path


def load_models(root: Path, market: Market, version: str) -> dict[tuple[date, date], AssessmentModel]:
    """Models saved under lineage ``version``, by period."""
    folder = model_path(root, market, version, (date.min, date.min)).parent
    models = {}
    for path in sorted(folder.glob("*.json")):
        model = AssessmentModel.from_json(path.read_text())
        models[(model.period_start, model.period_end)] = model
    return models
