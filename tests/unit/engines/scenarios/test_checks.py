"""The scenarios asset's own check: every VaR at most the ES of its level."""

from __future__ import annotations

from datetime import date

import polars as pl

from prometheus.engines.scenarios.checks import tails_check


def _results(var: float, es: float) -> pl.DataFrame:
    rows = [
        {"session": date(2024, 3, 4), "scenario_set": "block", "scenario": "var_95", "pnl": -var},
        {"session": date(2024, 3, 4), "scenario_set": "block", "scenario": "es_95", "pnl": -es},
        {"session": date(2024, 3, 4), "scenario_set": "block", "scenario": "worst", "pnl": -0.3},
    ]
    return pl.DataFrame(rows)


def test_var_at_most_es_passes() -> None:
    outcome = tails_check(_results(0.05, 0.08))
    assert outcome.passed
    assert outcome.metadata["pairs"] == 1


def test_var_above_es_fails() -> None:
    outcome = tails_check(_results(0.09, 0.08))
    assert not outcome.passed
    assert outcome.metadata["var_above_es"] == 1


def test_no_tail_rows_pass_trivially() -> None:
    assert tails_check(_results(0.05, 0.08).filter(pl.col("scenario") == "worst")).passed
