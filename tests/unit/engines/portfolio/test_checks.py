"""The portfolio asset's own check: targets within the limits they were built under."""

from __future__ import annotations

from datetime import date

import polars as pl

from prometheus.data.checks import Severity
from prometheus.engines.portfolio import default_limits
from prometheus.engines.portfolio.checks import limits_check


def _frame(weights: dict[date, dict[str, float]]) -> pl.DataFrame:
    rows = [{"session": d, "instrument": k, "weight": w} for d, book in weights.items() for k, w in book.items()]
    return pl.DataFrame(rows, schema={"session": pl.Date(), "instrument": pl.String(), "weight": pl.Float64()})


D1, D2 = date(2024, 3, 4), date(2024, 3, 5)


def test_targets_within_limits_pass() -> None:
    book = {f"S{i}": 0.04 for i in range(20)}
    assert limits_check(_frame({D1: book, D2: book}), default_limits()).passed


def test_a_name_above_its_cap_or_a_short_fails_as_an_error() -> None:
    outcome = limits_check(_frame({D1: {"A": 0.2, "B": -0.01}}), default_limits())
    assert not outcome.passed
    assert outcome.severity is Severity.ERROR
    assert outcome.metadata["weight"] == 1
    assert outcome.metadata["short"] == 1


def test_turnover_above_its_cap_is_a_warning() -> None:
    first = {f"S{i}": 0.04 for i in range(20)}
    second = {f"T{i}": 0.04 for i in range(20)}  # a whole new book: one-way turnover 0.8 > 0.2
    outcome = limits_check(_frame({D1: first, D2: second}), default_limits())
    assert not outcome.passed
    assert outcome.severity is Severity.WARN
    assert outcome.metadata["turnover_over_cap"] == 1
