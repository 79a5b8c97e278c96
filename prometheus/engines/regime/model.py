"""Regime models: a statistical jump model wrapper and a Gaussian HMM with a forward filter.

Both learn on a training window of feature rows and label later rows online: the probabilities of row ``i`` use
rows up to ``i`` only. For the jump model that is ``predict_proba_online`` (the dynamic-programming value at
``i``); ``predict`` / ``predict_proba`` solve over the whole sample and are never used. hmmlearn's
``predict_proba`` smooths over the whole sample too, so the HMM's probabilities come from :func:`forward_filter`,
written from the fitted parameters.

States are ordered by the volatility of the market return in them on the training window (state 0 calmest).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from hmmlearn.hmm import GaussianHMM
from jumpmodels.jump import JumpModel
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from prometheus.core.errors import DataError
from prometheus.engines.regime.config import RegimeConfig, RegimeMethod
from prometheus.engines.regime.features import FeatureScaler

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegimeModel:
    """A fitted regime model for one refit period.

    Attributes
    ----------
    period_start, period_end
        First and last session date it labels (inclusive calendar bounds of the refit period).
    train_first, train_last
        Sessions of its training window; ``known_at`` is the decision time of ``train_last``.
    jump_penalty
        Penalty chosen on the validation block (None for the HMM).
    state_vol
        Annualised volatility of the market return in each state on the training window (increasing).
    n_features, n_half_lives
        Leading feature columns it uses: the market-series features (3 per half-life), plus the cross-sectional
        ones when the config asks for them and the training window has them (``cross_section``).
    """

    config_version: str
    period_start: date
    period_end: date
    train_first: date
    train_last: date
    known_at: datetime
    scaler: FeatureScaler
    estimator: Any
    jump_penalty: float | None
    state_vol: tuple[float, ...]
    n_features: int
    n_half_lives: int
    cross_section: bool = False
    validation: dict[str, float] = field(default_factory=dict)

    @property
    def n_cross_section(self) -> int:
        """Cross-sectional feature columns it uses (the last ones of its ``n_features``)."""
        return self.n_features - 3 * self.n_half_lives if self.cross_section else 0

    @property
    def model_id(self) -> str:
        """Short identity: the period it labels."""
        return f"{self.period_start.isoformat()}..{self.period_end.isoformat()}"

    def predict_proba_online(self, features: np.ndarray) -> np.ndarray:
        """State probabilities of each row using rows up to it only; shape (n, n_states).

        Raises
        ------
        DataError
            A row has a missing feature.
        """
        used = features[:, : self.n_features]
        n_market = self.n_features - self.n_cross_section
        if not np.isfinite(used[:, :n_market]).all():
            raise DataError(f"regime model {self.model_id}: feature rows with missing values", field="features")
        x = self.scaler.transform(used)
        gaps = ~np.isfinite(x)
        if gaps.any():
            # Sessions after the cross-section stopped (names no longer known): its features count as typical
            # (the training mean) rather than stopping the labels.
            _log.warning("regime model %s: %d rows without a cross-section", self.model_id, int(gaps.any(axis=1).sum()))
            x = np.where(gaps, 0.0, x)
        if isinstance(self.estimator, JumpModel):
            return np.asarray(self.estimator.predict_proba_online(x), dtype=float)
        return forward_filter(self.estimator, x)


def forward_filter(hmm: GaussianHMM, x: np.ndarray) -> np.ndarray:
    """Filtered probabilities P(state_i | x_0..x_i) of a fitted Gaussian HMM, in its state order.

    The forward recursion in log space: alpha_0 = log pi + log b(x_0); alpha_i = log b(x_i) +
    logsumexp_j(alpha_{i-1, j} + log A_{j, .}), normalised per row. Unlike hmmlearn's ``predict_proba``
    (forward-backward), row i never sees rows after i.
    """
    n_states = hmm.n_components
    covars = hmm.covars_  # full matrices whatever the covariance type
    log_b = np.column_stack(
        [multivariate_normal.logpdf(x, hmm.means_[k], covars[k], allow_singular=True) for k in range(n_states)]
    ).reshape(len(x), n_states)
    log_a = np.log(np.maximum(hmm.transmat_, 1e-300))
    out = np.empty_like(log_b)
    prev = np.log(np.maximum(hmm.startprob_, 1e-300)) + log_b[0]
    out[0] = prev - logsumexp(prev)
    for i in range(1, len(x)):
        prev = log_b[i] + logsumexp(out[i - 1][:, None] + log_a, axis=0)
        out[i] = prev - logsumexp(prev)
    return np.exp(out)


def _state_vol(returns: np.ndarray, labels: np.ndarray, n_states: int) -> np.ndarray:
    vols = np.full(n_states, np.inf)
    for k in range(n_states):
        r = returns[labels == k]
        if len(r) > 1:
            vols[k] = float(np.std(r) * np.sqrt(252.0))
    return vols


def _fit_jump(x: np.ndarray, returns: np.ndarray, cfg: RegimeConfig, penalty: float) -> JumpModel:
    weights = feature_weights(cfg, cross_section=x.shape[1] > 3 * len(cfg.half_lives))
    jm = JumpModel(
        n_components=cfg.n_states, jump_penalty=penalty, cont=cfg.continuous,
        n_init=cfg.n_init, random_state=cfg.random_state,
    )  # fmt: skip
    # sort_by="vol" orders the states by increasing volatility of ``returns`` in them.
    return jm.fit(x, ret_ser=returns, feat_weights=weights, sort_by="vol")


def feature_weights(cfg: RegimeConfig, cross_section: bool = False) -> np.ndarray:
    """Per-feature weights of the jump model's distance (order of :func:`feature_names`, then
    :func:`cross_section_names` when ``cross_section``)."""
    per_half_life = np.array([1.0, cfg.downside_weight, 1.0])
    weights = np.tile(per_half_life, len(cfg.half_lives))
    if cross_section:
        xs = np.full(2 * len(cfg.cross_section_half_lives), cfg.cross_section_weight)
        weights = np.concatenate([weights, xs])
    return weights


def _fit_hmm(x: np.ndarray, returns: np.ndarray, cfg: RegimeConfig) -> tuple[GaussianHMM, np.ndarray]:
    hmm = GaussianHMM(
        n_components=cfg.n_states, covariance_type="full", n_iter=cfg.hmm_iterations, random_state=cfg.random_state
    )
    hmm.fit(x)
    # Order states by volatility: the in-sample states come from the filter (hindsight labels are not needed).
    labels = forward_filter(hmm, x).argmax(axis=1)
    order = np.argsort(_state_vol(returns, labels, cfg.n_states))
    hmm.startprob_ = hmm.startprob_[order]
    hmm.transmat_ = hmm.transmat_[np.ix_(order, order)]
    covars = hmm.covars_[order]
    hmm.means_ = hmm.means_[order]
    hmm.covars_ = covars
    return hmm, _state_vol(returns, labels, cfg.n_states)[order]


def strategy_sharpe(crisis_prob: np.ndarray, returns: np.ndarray, switch_cost: float) -> float:
    """Annualised Sharpe of holding the market while not in crisis (decided at i, earning return i + 1).

    The score of a jump penalty on the validation block, after ``switch_cost`` per change of position
    (Shu, Yu & Mulvey 2024 choose the penalty the same way).
    """
    hold = (crisis_prob < 0.5).astype(float)
    pnl = hold[:-1] * returns[1:] - switch_cost * np.abs(np.diff(hold))
    sd = pnl.std()
    return float(pnl.mean() / sd * np.sqrt(252.0)) if sd > 0 else 0.0


def choose_penalty(features: np.ndarray, returns: np.ndarray, cfg: RegimeConfig) -> tuple[float, dict[str, float]]:
    """The jump penalty with the best validation strategy Sharpe; ties go to the larger (more persistent) one.

    Each candidate is fitted on the training rows before the validation block (scaler included) and labels the
    block online, the filter starting on the training rows so its state carries into the block.
    """
    n_val = cfg.validation_sessions
    fit_x, fit_r = features[:-n_val], returns[:-n_val]
    scaler = FeatureScaler.fit(fit_x, cfg.clip_sigmas)
    x = scaler.transform(features)
    warm = min(cfg.online_warmup_sessions, len(fit_x))
    scores: dict[str, float] = {}
    for penalty in cfg.jump_penalties:
        jm = _fit_jump(x[:-n_val], fit_r, cfg, penalty)
        proba = np.asarray(jm.predict_proba_online(x[len(fit_x) - warm :]), dtype=float)[warm:]
        scores[f"{penalty:g}"] = strategy_sharpe(proba[:, -1], returns[-n_val:], cfg.switch_cost)
    best = max(cfg.jump_penalties, key=lambda p: (round(scores[f"{p:g}"], 9), p))
    return best, scores


def fit_regime_model(features: np.ndarray, returns: np.ndarray, cfg: RegimeConfig, meta: dict[str, Any]) -> RegimeModel:
    """Fit the model of one refit period on its training rows (features and same-session market returns).

    ``meta`` carries period_start, period_end, train_first, train_last and known_at.

    Raises
    ------
    DataError
        Fewer complete training rows than ``min_train_sessions``.
    """
    n_market = 3 * len(cfg.half_lives)
    ok = np.isfinite(features[:, :n_market]).all(axis=1) & np.isfinite(returns)
    if ok.sum() < cfg.min_train_sessions:
        raise DataError(
            f"regime model for {meta['period_start']}: {int(ok.sum())} training rows, need {cfg.min_train_sessions}",
            field="train_sessions",
        )
    ok_xs = ok & np.isfinite(features).all(axis=1)
    # No cross-section (a single index series) or too little of it: the market-series features alone.
    cross_section = cfg.cross_section and features.shape[1] > n_market and ok_xs.sum() >= cfg.min_train_sessions
    if cross_section:
        ok = ok_xs
    elif cfg.cross_section:
        _log.info("regime model for %s: no cross-section in its training window", meta["period_start"])
    n_features = features.shape[1] if cross_section else n_market
    f, r = features[ok][:, :n_features], returns[ok]
    scaler = FeatureScaler.fit(f, cfg.clip_sigmas)
    x = scaler.transform(f)
    if cfg.method is RegimeMethod.JUMP:
        penalty, scores = choose_penalty(f, r, cfg)
        estimator: Any = _fit_jump(x, r, cfg, penalty)
        vols = np.asarray(estimator.vol_, dtype=float) * np.sqrt(252.0)
    else:
        penalty, scores = None, {}
        estimator, vols = _fit_hmm(x, r, cfg)
    return RegimeModel(
        config_version=cfg.config_version,
        scaler=scaler,
        estimator=estimator,
        jump_penalty=penalty,
        state_vol=tuple(float(v) for v in vols),
        n_features=n_features,
        n_half_lives=len(cfg.half_lives),
        cross_section=cross_section,
        validation=scores,
        **meta,
    )
