"""Charts come back as PNG bytes for normal, tiny and empty results, without touching pyplot's global state."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from prometheus.backtest.schema import COST_COLUMNS, empty_daily
from prometheus.reporting import plots
from prometheus.reporting.metrics import compute_metrics

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _daily(n: int, *, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    regimes = ["crisis" if 10 <= i < 20 else "calm" for i in range(n)]
    if n:
        regimes[0] = None  # type: ignore[call-overload]
    data: dict[str, object] = {
        "session": [date(2024, 1, 1) + timedelta(days=i) for i in range(n)],
        "equity": list(1e6 * np.cumprod(1 + rng.normal(0, 0.01, n))),
        "gross_exposure": list(rng.uniform(0.9, 1.0, n)),
        "net_exposure": list(rng.uniform(-0.1, 0.1, n)),
        "daily_return": list(rng.normal(0.0005, 0.01, n)),
        "benchmark_return": list(rng.normal(0.0004, 0.01, n)),
        "baseline_return": list(rng.normal(0.0004, 0.01, n)),
        "regime_label": regimes,
    }
    data |= {c: list(rng.uniform(0, 10, n)) for c in COST_COLUMNS}
    return pl.DataFrame(data, schema_overrides={"regime_label": pl.String})


CHARTS: dict[str, Callable[[pl.DataFrame], bytes]] = {
    "equity": plots.equity_png,
    "drawdown": plots.drawdown_png,
    "rolling_sharpe": plots.rolling_sharpe_png,
    "exposures": plots.exposures_png,
    "costs": plots.costs_png,
}


@pytest.mark.parametrize("n", [100, 1, 0])
@pytest.mark.parametrize("chart", sorted(CHARTS))
def test_chart_when_drawn_returns_png_bytes_even_for_tiny_or_empty_results(chart: str, n: int) -> None:
    frame = _daily(n) if n else empty_daily()
    assert CHARTS[chart](frame).startswith(PNG_MAGIC)


def test_ic_chart_when_metrics_have_ic_returns_png_bytes() -> None:
    daily = _daily(40)
    ic = pl.DataFrame({"session": daily.get_column("session"), "ic": np.linspace(-0.1, 0.2, 40)})
    assert plots.ic_by_regime_png(compute_metrics(daily, ic)).startswith(PNG_MAGIC)


def test_comparison_charts_when_drawn_return_png_bytes() -> None:
    a, b = _daily(80, seed=1), _daily(60, seed=2)
    assert plots.comparison_equity_png(a, b, ("a", "b")).startswith(PNG_MAGIC)
    assert plots.return_difference_png(a, b, ("a", "b")).startswith(PNG_MAGIC)


def test_return_difference_when_sessions_overlap_partly_covers_only_common_sessions() -> None:
    a, b = _daily(10, seed=1), _daily(10, seed=2).slice(3)
    diff = plots.return_difference(a, b)
    assert diff.height == 7
    expected = a.get_column("daily_return")[3:].to_numpy() - b.get_column("daily_return").to_numpy()
    np.testing.assert_allclose(diff.get_column("difference").to_numpy(), expected)


def test_rolling_sharpe_when_window_not_full_is_nan_then_matches_the_window_formula() -> None:
    r = pl.Series([0.01, -0.02, 0.03, 0.0, 0.01])
    out = plots.rolling_sharpe(r, window=3)
    assert np.isnan(out[:2]).all()
    w = np.array([0.01, -0.02, 0.03])
    assert out[2] == pytest.approx(w.mean() / w.std(ddof=1) * math.sqrt(252))


def test_rolling_sharpe_when_window_has_zero_vol_is_nan_not_infinite() -> None:
    out = plots.rolling_sharpe(pl.Series([0.0] * 5), window=3)
    assert np.isnan(out).all()


def test_charts_when_drawn_leave_no_pyplot_figures_open() -> None:
    plots.equity_png(_daily(30))
    pyplot = sys.modules.get("matplotlib.pyplot")
    # Either pyplot was never imported by the charts, or (imported by someone else) holds no figure of ours.
    assert pyplot is None or pyplot.get_fignums() == []


def test_equity_chart_when_drawn_twice_from_the_same_data_is_byte_identical() -> None:
    daily = _daily(50)
    assert plots.equity_png(daily) == plots.equity_png(daily)
