"""One period's model: feature screening on the training window, fitting (regression and lambdarank), persistence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.engines.assessment import AssessmentConfig, AssessmentModel, LightGBMParams, Objective
from prometheus.engines.assessment.model import TrainingSet, fit_model, load_models, save_model, screen_features

PERIOD = (date(2020, 1, 1), date(2020, 1, 31))
KNOWN = datetime(2019, 12, 31, 21, 5, tzinfo=UTC)


def _data(seed: int = 5, sessions: int = 300, names: int = 60, ic: float = 0.15) -> TrainingSet:
    """A planted feature with the given IC, two pure-noise features and a market-level column."""
    rng = np.random.default_rng(seed)
    n = sessions * names
    signal = rng.standard_normal(n)
    ret = ic * signal + np.sqrt(1 - ic**2) * rng.standard_normal(n)
    label = np.concatenate([(np.argsort(np.argsort(r)) + 0.5) / names - 0.5 for r in ret.reshape(sessions, names)])
    market = np.repeat(rng.standard_normal(sessions), names)
    x = np.column_stack([signal, rng.standard_normal(n), rng.standard_normal(n), market]).astype(np.float32)
    days = tuple(date(2018, 1, 1) + timedelta(days=i) for i in range(sessions))
    return TrainingSet(x, label, ret * 0.01, np.full(sessions, names), days, ("planted", "noise_a", "noise_b", "mkt"))


def test_screening_keeps_the_planted_feature_and_drops_noise() -> None:
    screened = screen_features(_data(), horizon=5, min_t=3.0, keep=frozenset({"mkt"}))
    assert screened.features == ("planted", "mkt")
    assert screened.x.shape[1] == 2


def test_screening_off_keeps_everything() -> None:
    data = _data()
    assert screen_features(data, horizon=5, min_t=0.0, keep=frozenset()).features == data.features


def test_a_window_where_nothing_passes_keeps_everything() -> None:
    data = _data(ic=0.0)
    assert screen_features(data, horizon=5, min_t=8.0, keep=frozenset()).features == data.features


@pytest.mark.parametrize("objective", [Objective.REGRESSION, Objective.LAMBDARANK])
def test_fitted_model_ranks_by_the_planted_feature(objective: Objective) -> None:
    cfg = AssessmentConfig(objective=objective, lightgbm=LightGBMParams(min_data_in_leaf=200))
    data = _data()
    model = fit_model(data, cfg, Market.US_EQ, PERIOD, KNOWN)
    fresh = _data(seed=9)
    score = model.predict(fresh.x)
    assert np.corrcoef(score, fresh.x[:, 0])[0, 1] > 0.5
    assert model.calibration > 0  # a higher score means a higher expected return
    assert max(model.importance, key=model.importance.get) == "planted"


def test_too_few_sessions_is_an_error() -> None:
    with pytest.raises(DataError, match="need 189"):
        fit_model(_data(sessions=50), AssessmentConfig(), Market.US_EQ, PERIOD, KNOWN)


def test_models_round_trip_under_their_lineage_version(tmp_path: Path) -> None:
    cfg = AssessmentConfig(lightgbm=LightGBMParams(n_estimators=5, min_data_in_leaf=200))
    model = fit_model(_data(), cfg, Market.US_EQ, PERIOD, KNOWN)
    save_model(model, tmp_path, "lineage-a")
    loaded = load_models(tmp_path, Market.US_EQ, "lineage-a")
    back = loaded[PERIOD]
    assert isinstance(back, AssessmentModel)
    assert back.model_version == model.model_version
    x = _data(seed=11).x
    assert np.array_equal(back.predict(x), model.predict(x))
    assert load_models(tmp_path, Market.US_EQ, "lineage-b") == {}
