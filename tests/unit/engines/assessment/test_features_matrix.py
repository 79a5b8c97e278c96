"""The chunked feature matrix and the training set gathered from it equal the one-pass frame and training set."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import polars as pl
import pytest

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.known_at import decision_times
from prometheus.data.schema import Table
from prometheus.engines.assessment import AssessmentConfig, forward_returns
from prometheus.engines.assessment.features import (
    MARKET_LEVEL_FEATURES,
    FeatureMatrix,
    feature_frame,
    feature_matrix,
    feature_names,
)
from prometheus.engines.assessment.model import matrix_training_set, screen_features, training_set
from tests.support.panel_market import BAR_DELAY, History

#: The families the shared snapshot (prices, instruments) feeds; residual reads blocks of 21 sessions.
CONFIG = AssessmentConfig(families=("alpha158", "residual"))


@pytest.fixture(scope="module")
def history(stability_markets: Callable[[int], History]) -> History:
    return stability_markets(21)


@pytest.fixture(scope="module")
def built(history: History) -> tuple[list[date], pl.DataFrame, FeatureMatrix]:
    days = list(history.market.sessions)[200:520]  # three chunks of 126 sessions, the last one short
    times = decision_times(get_calendar(), Market.US_EQ, days, BAR_DELAY)
    view = history.view(history.context(days))
    frame = feature_frame(view, get_calendar(), Market.US_EQ, days, times, CONFIG, {})
    return days, frame, feature_matrix(view, get_calendar(), Market.US_EQ, days, times, CONFIG, {})


def test_the_matrix_holds_the_frames_rows_and_values(built: tuple[list[date], pl.DataFrame, FeatureMatrix]) -> None:
    _, frame, matrix = built
    assert len(matrix.chunks) == 3
    assert matrix.features == feature_names(frame)
    assert matrix.keys.select("date", "symbol").equals(frame.select("date", "symbol"))
    assert matrix.keys["row"].to_list() == list(range(frame.height))
    expected = frame.select(matrix.features).to_numpy()
    np.testing.assert_array_equal(matrix.take(np.arange(frame.height)), expected)  # NaN where null, bit for bit
    rows, cols = np.array([frame.height - 1, 0, 400]), np.array([3, 0])
    np.testing.assert_array_equal(matrix.take(rows, cols), expected[np.ix_(rows, cols)])


def test_the_gathered_training_set_is_the_one_pass_training_set(
    history: History, built: tuple[list[date], pl.DataFrame, FeatureMatrix]
) -> None:
    days, frame, matrix = built
    bars = history.view(history.context(days)).table(
        Table.PRICES_ADJUSTED, market=Market.US_EQ, start=days[0], end=days[-1],
        columns=["date", "symbol", "open", "close", "total_return"],
    )  # fmt: skip
    labels = forward_returns(bars, days, CONFIG.horizon, len(days) - 1)
    first, last = days[30], days[250]
    rows = frame.filter(pl.col("date").is_between(first, last))
    for min_t in (0.0, 2.0):
        want = screen_features(training_set(rows, labels, feature_names(frame), 20), 5, min_t, MARKET_LEVEL_FEATURES)
        got = matrix_training_set(matrix, labels, (first, last), 20, 5, min_t, MARKET_LEVEL_FEATURES)
        assert got.features == want.features
        assert got.sessions == want.sessions
        if min_t > 0:
            assert len(got.features) < len(matrix.features)  # the screen did drop features here
        for name in ("x", "label", "forward_return", "group"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
        assert got.x.dtype == np.float32


def test_only_keeps_the_asked_features_in_the_frames_order(
    history: History, built: tuple[list[date], pl.DataFrame, FeatureMatrix]
) -> None:
    days, frame, matrix = built
    asked = {matrix.features[5], matrix.features[1], "not_a_feature"}
    times = decision_times(get_calendar(), Market.US_EQ, days, BAR_DELAY)
    view = history.view(history.context(days))
    few = feature_matrix(view, get_calendar(), Market.US_EQ, days, times, CONFIG, {}, only=asked)
    assert few.features == (matrix.features[1], matrix.features[5])
    np.testing.assert_array_equal(few.take(np.arange(frame.height)), frame.select(few.features).to_numpy())
