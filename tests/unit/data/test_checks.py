"""Output checks: each passes on a well-formed frame and fails on the fault it names."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from prometheus.data.checks import CheckName, FrameRules, Severity, check_names, frame_checks
from prometheus.engines.regime import REGIME_SPEC
from prometheus.engines.stability import STABILITY_SPEC

DAYS = [date(2024, 3, 4), date(2024, 3, 5)]


def _regime(probabilities: list[list[float]], confidence: list[float] | None = None) -> pl.DataFrame:
    n = len(probabilities)
    return pl.DataFrame(
        {"market": ["US_EQ"] * n, "session": DAYS[:n],
         "decision_time": [datetime(d.year, d.month, d.day, 21, 5, tzinfo=UTC) for d in DAYS[:n]],
         "experiment": ["x"] * n, "config_version": ["v"] * n, "state": [0] * n, "label": ["calm"] * n,
         "probabilities": probabilities, "confidence": confidence or [max(p) for p in probabilities]},
        schema=dict(REGIME_SPEC.schema),
    )  # fmt: skip


def _verdicts(frame: pl.DataFrame, sessions: list[date] = DAYS) -> dict[CheckName, tuple[bool, Severity]]:
    return {o.name: (o.passed, o.severity) for o in frame_checks(REGIME_SPEC.rules, frame, sessions)}


def test_checks_when_frame_is_well_formed_all_pass() -> None:
    verdicts = _verdicts(_regime([[0.9, 0.1], [0.3, 0.7]]))
    assert set(verdicts) == set(check_names(REGIME_SPEC.rules))
    assert all(passed for passed, _ in verdicts.values())


def test_probabilities_when_row_does_not_sum_to_one_fail() -> None:
    assert _verdicts(_regime([[0.9, 0.2], [0.3, 0.7]]))[CheckName.PROBABILITIES] == (False, Severity.ERROR)


def test_probabilities_when_negative_fail() -> None:
    assert not _verdicts(_regime([[1.2, -0.2], [0.3, 0.7]]))[CheckName.PROBABILITIES][0]


def test_decision_values_when_nan_fail() -> None:
    verdicts = _verdicts(_regime([[0.9, 0.1], [0.3, 0.7]], confidence=[float("nan"), 0.7]))
    assert verdicts[CheckName.DECISION_VALUES] == (False, Severity.ERROR)


def test_sessions_when_a_session_is_decided_twice_fail() -> None:
    frame = _regime([[0.9, 0.1], [0.3, 0.7]])
    verdicts = _verdicts(pl.concat([frame, frame.head(1)]))
    assert verdicts[CheckName.SESSIONS] == (False, Severity.ERROR)


def test_sessions_when_rows_lie_outside_the_partition_fail() -> None:
    assert _verdicts(_regime([[0.9, 0.1], [0.3, 0.7]]), DAYS[:1])[CheckName.SESSIONS] == (False, Severity.ERROR)


def test_sessions_when_a_session_has_no_rows_warn() -> None:
    assert _verdicts(_regime([[0.9, 0.1]]))[CheckName.SESSIONS] == (False, Severity.WARN)


def test_schema_when_a_column_has_another_dtype_fails_alone() -> None:
    frame = _regime([[0.9, 0.1], [0.3, 0.7]]).with_columns(pl.col("state").cast(pl.Int32))
    outcomes = frame_checks(REGIME_SPEC.rules, frame, DAYS)
    assert [(o.name, o.passed) for o in outcomes] == [(CheckName.SCHEMA, False)]
    assert "state" in outcomes[0].description


@pytest.mark.parametrize("spec", [REGIME_SPEC, STABILITY_SPEC], ids=lambda s: s.name)
def test_check_names_when_spec_has_probabilities_include_them(spec) -> None:  # type: ignore[no-untyped-def]
    assert (CheckName.PROBABILITIES in check_names(spec.rules)) == (spec.probabilities is not None)


def test_decision_values_when_a_vector_holds_nan_fail() -> None:
    rules = FrameRules({"session": pl.Date(), "v": pl.List(pl.Float64())}, ("session",), "session", ("v",))
    frame = pl.DataFrame({"session": DAYS, "v": [[0.1, float("nan")], [0.2, 0.3]]}, schema=dict(rules.schema))
    outcome = {o.name: o.passed for o in frame_checks(rules, frame, DAYS)}
    assert outcome[CheckName.DECISION_VALUES] is False
    assert {o.name: o.passed for o in frame_checks(rules, frame.tail(1), DAYS[1:])}[CheckName.DECISION_VALUES]
