"""Headline metrics against hand-computed values, the per-regime split and undefined cases (NaN, never a crash)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from prometheus.backtest.schema import empty_daily
from prometheus.core.errors import DataError
from prometheus.reporting.metrics import (
    ALL,
    TRADING_DAYS,
    UNKNOWN,
    compute_metrics,
    regime_session_counts,
    series_metrics,
)


def _daily(returns: list[float], *, regimes: list[str | None] | None = None, **columns: list[float]) -> pl.DataFrame:
    n = len(returns)
    equity = list(np.cumprod(1.0 + np.nan_to_num(np.asarray(returns, dtype=float))) * 100.0) if n else []
    data: dict[str, object] = {
        "session": [date(2024, 1, 1) + timedelta(days=i) for i in range(n)],
        "equity": equity,
        "daily_return": returns,
        "benchmark_return": columns.pop("benchmark_return", [0.0] * n),
        "baseline_return": columns.pop("baseline_return", [0.0] * n),
        "regime_label": regimes if regimes is not None else [None] * n,
    }
    data |= columns
    return pl.DataFrame(data, schema_overrides={"regime_label": pl.String})


def test_annual_return_when_daily_return_is_constant_compounds_over_252_sessions() -> None:
    r = 0.001
    m = compute_metrics(_daily([r] * 10)).get("strategy")
    assert m.annual_return == pytest.approx((1 + r) ** TRADING_DAYS - 1)
    assert m.annual_volatility == pytest.approx(0.0, abs=1e-12)
    assert m.max_drawdown == pytest.approx(0.0)
    assert m.hit_rate == 1.0


def test_sharpe_when_returns_are_constant_and_positive_is_infinite_or_nan_not_an_error() -> None:
    m = compute_metrics(_daily([0.001] * 5)).get("strategy")
    assert math.isinf(m.sharpe) or math.isnan(m.sharpe)
    assert math.isinf(m.sortino) or math.isnan(m.sortino)


def test_sharpe_when_returns_are_all_zero_is_nan_and_calmar_nan_without_drawdown() -> None:
    m = compute_metrics(_daily([0.0] * 5)).get("strategy")
    assert math.isnan(m.sharpe)
    assert math.isnan(m.calmar)
    assert m.hit_rate == 0.0


def test_max_drawdown_when_path_rises_falls_and_recovers_is_the_peak_to_trough_fall() -> None:
    # growth: 1.1, 0.88, 0.968, 1.0648 -> trough 0.88 after peak 1.1 = -20 %
    m = compute_metrics(_daily([0.10, -0.20, 0.10, 0.10])).get("strategy")
    assert m.max_drawdown == pytest.approx(-0.20)
    assert m.calmar == pytest.approx(m.annual_return / 0.20)
    assert m.hit_rate == pytest.approx(0.75)


def test_sharpe_and_volatility_when_returns_alternate_match_the_sample_formulas() -> None:
    r = np.array([0.01, -0.005, 0.02, -0.01, 0.0])
    m = series_metrics(r)
    std = r.std(ddof=1)
    assert m.annual_volatility == pytest.approx(std * math.sqrt(TRADING_DAYS))
    assert m.sharpe == pytest.approx(r.mean() / std * math.sqrt(TRADING_DAYS))
    assert m.hit_rate == pytest.approx(2 / 5)


def test_turnover_and_cost_drag_when_given_are_averaged_and_annualised() -> None:
    n = 4
    daily = _daily([0.0] * n, turnover=[0.1, 0.3, 0.2, 0.2], commission=[1.0] * n, spread=[2.0, 0.0, 1.0, 1.0])
    daily = daily.with_columns(pl.lit(1000.0).alias("equity"))
    m = compute_metrics(daily).get("strategy")
    assert m.avg_turnover == pytest.approx(0.2)
    assert m.annual_turnover == pytest.approx(0.2 * TRADING_DAYS)
    # costs 8 over 4 sessions = 2 a session -> 504 a year on equity 1000
    assert m.cost_drag == pytest.approx(2.0 * TRADING_DAYS / 1000.0)


def test_benchmark_and_baseline_rows_when_computed_use_their_own_columns_and_have_no_turnover() -> None:
    report = compute_metrics(_daily([0.01, -0.01, 0.0], benchmark_return=[0.02, 0.02, -0.01], turnover=[0.1] * 3))
    bench = report.get("benchmark")
    assert bench.hit_rate == pytest.approx(2 / 3)
    assert math.isnan(bench.avg_turnover)
    assert report.get("baseline").hit_rate == 0.0
    assert report.headline.height == 3


def test_regime_split_when_labels_present_partitions_sessions_and_maps_null_to_unknown() -> None:
    regimes = ["calm", "calm", "crisis", None, "normal", "crisis", "calm"]
    returns = [0.01, 0.02, -0.03, 0.0, 0.01, -0.01, 0.005]
    report = compute_metrics(_daily(returns, regimes=regimes))
    assert report.regimes == ["calm", "normal", "crisis", UNKNOWN]
    counts = {r: report.get("strategy", r).sessions for r in report.regimes}
    assert counts == {"calm": 3, "normal": 1, "crisis": 2, UNKNOWN: 1}
    assert sum(counts.values()) == report.get("strategy", ALL).sessions == len(returns)
    crisis = report.get("strategy", "crisis")
    assert crisis.hit_rate == 0.0
    assert crisis.max_drawdown == pytest.approx((1 - 0.03) * (1 - 0.01) - 1)
    assert regime_session_counts(_daily(returns, regimes=regimes)) == counts


def test_regime_with_one_session_when_measured_is_nan_not_an_error() -> None:
    report = compute_metrics(_daily([0.01, 0.02, 0.03], regimes=["calm", "calm", "crisis"]))
    crisis = report.get("strategy", "crisis")
    assert crisis.sessions == 1
    assert math.isnan(crisis.annual_return)
    assert math.isnan(crisis.sharpe)
    assert math.isnan(crisis.hit_rate)


@pytest.mark.parametrize("n", [0, 1])
def test_metrics_when_fewer_than_two_sessions_are_nan(n: int) -> None:
    report = compute_metrics(_daily([0.01] * n))
    m = report.get("strategy")
    assert m.sessions == n
    for value in (m.annual_return, m.annual_volatility, m.sharpe, m.max_drawdown, m.hit_rate, m.cost_drag):
        assert math.isnan(value)


def test_metrics_when_frame_is_the_empty_backtest_daily_schema_report_no_sessions() -> None:
    report = compute_metrics(empty_daily())
    assert report.first_session is None
    assert report.get("strategy").sessions == 0
    assert report.regimes == []


def test_returns_when_null_are_dropped_not_treated_as_zero() -> None:
    m = compute_metrics(_daily([0.01, None, 0.01, 0.01])).get("strategy")  # type: ignore[list-item]
    assert m.sessions == 3
    assert m.hit_rate == 1.0


def test_ic_when_given_reports_mean_and_t_stat_overall_and_by_the_daily_regime() -> None:
    daily = _daily([0.0] * 4, regimes=["calm", "calm", "crisis", "crisis"])
    ic = pl.DataFrame({"session": daily.get_column("session"), "ic": [0.1, 0.3, -0.1, 0.0]})
    report = compute_metrics(daily, ic)
    overall = report.get("strategy")
    values = np.array([0.1, 0.3, -0.1, 0.0])
    assert overall.mean_ic == pytest.approx(values.mean())
    assert overall.ic_tstat == pytest.approx(values.mean() / (values.std(ddof=1) / 2.0))
    assert report.get("strategy", "calm").mean_ic == pytest.approx(0.2)
    assert report.get("strategy", "crisis").mean_ic == pytest.approx(-0.05)
    assert report.get("strategy", "calm").ic_sessions == 2
    assert math.isnan(report.get("benchmark").mean_ic)


def test_ic_t_stat_when_ic_is_constant_is_nan() -> None:
    daily = _daily([0.0] * 3)
    ic = pl.DataFrame({"session": daily.get_column("session"), "ic": [0.1, 0.1, 0.1]})
    m = compute_metrics(daily, ic).get("strategy")
    assert m.mean_ic == pytest.approx(0.1)
    assert math.isnan(m.ic_tstat)


def test_daily_frame_when_sessions_repeat_is_refused() -> None:
    daily = pl.concat([_daily([0.01, 0.02]), _daily([0.01, 0.02])])
    with pytest.raises(DataError, match="repeat a session"):
        compute_metrics(daily)


def test_daily_frame_when_return_column_missing_is_refused_naming_it() -> None:
    with pytest.raises(DataError, match="daily_return"):
        compute_metrics(_daily([0.01]).drop("daily_return"))
