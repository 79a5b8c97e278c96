"""Tear-sheet charts as PNG bytes, drawn with matplotlib's Agg canvas on private Figure objects.

Nothing here touches ``matplotlib.pyplot``: pyplot keeps global figures and a global backend, which leak between
callers (and between Dagster runs in one process); a Figure with its own Agg canvas is freed with its last
reference. matplotlib is imported lazily so importing the package stays cheap for code that never draws.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from prometheus.backtest.schema import COST_COLUMNS
from prometheus.reporting.metrics import (
    ALL,
    SERIES,
    SERIES_LABELS,
    TRADING_DAYS,
    MetricsReport,
    prepare_daily,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Sessions of the rolling Sharpe window (a quarter).
ROLLING_WINDOW = 63
#: Regime whose sessions are shaded on the time-series charts.
SHADED_REGIME = "crisis"
_WIDTH, _HEIGHT, _DPI = 10.0, 3.6, 100
_COLORS = {"strategy": "#1f4e9c", "benchmark": "#7f7f7f", "baseline": "#d98b1e"}


def equity_png(daily: pl.DataFrame, *, log_scale: bool = True) -> bytes:
    """Growth of 1 for the strategy, the benchmark and the 1/N baseline (compounded daily returns), crisis shaded."""
    frame = prepare_daily(daily)
    fig, ax = _figure()
    x = _dates(frame)
    for series, column in SERIES.items():
        if column in frame.columns:
            ax.plot(x, _growth(frame, column), label=SERIES_LABELS[series], color=_COLORS[series], lw=1.2)
    if log_scale and frame.height:
        _log_axis(ax)
    _shade(ax, frame)
    _finish(ax, "Growth of 1" + (" (log scale)" if log_scale else ""))
    return _png(fig)


def drawdown_png(daily: pl.DataFrame) -> bytes:
    """Drawdown from the running peak of the strategy and of the 1/N baseline, crisis shaded."""
    frame = prepare_daily(daily)
    fig, ax = _figure()
    x = _dates(frame)
    for series in ("strategy", "baseline"):
        column = SERIES[series]
        if column in frame.columns:
            dd = _drawdown(_growth(frame, column))
            ax.plot(x, dd, label=SERIES_LABELS[series], color=_COLORS[series], lw=1.0)
            if series == "strategy":
                ax.fill_between(x, dd, 0.0, color=_COLORS[series], alpha=0.2)
    _percent_axis(ax)
    _shade(ax, frame)
    _finish(ax, "Drawdown")
    return _png(fig)


def rolling_sharpe_png(daily: pl.DataFrame, *, window: int = ROLLING_WINDOW) -> bytes:
    """Annualised Sharpe ratio over the trailing ``window`` sessions (strategy and 1/N baseline), crisis shaded."""
    frame = prepare_daily(daily)
    fig, ax = _figure()
    x = _dates(frame)
    for series in ("strategy", "baseline"):
        column = SERIES[series]
        if column in frame.columns:
            ax.plot(
                x,
                rolling_sharpe(frame.get_column(column), window),
                label=SERIES_LABELS[series],
                color=_COLORS[series],
                lw=1.0,
            )
    ax.axhline(0.0, color="black", lw=0.6)
    _shade(ax, frame)
    _finish(ax, f"Rolling Sharpe ratio ({window} sessions)")
    return _png(fig)


def exposures_png(daily: pl.DataFrame) -> bytes:
    """Gross and net exposure (fractions of equity) per session, crisis shaded."""
    frame = prepare_daily(daily)
    fig, ax = _figure()
    x = _dates(frame)
    for column, label, color in (("gross_exposure", "Gross", "#1f4e9c"), ("net_exposure", "Net", "#2a9d4b")):
        if column in frame.columns:
            ax.plot(x, _values(frame, column), label=label, color=color, lw=1.0)
    ax.axhline(0.0, color="black", lw=0.6)
    _percent_axis(ax)
    _shade(ax, frame)
    _finish(ax, "Exposure (fraction of equity)")
    return _png(fig)


def costs_png(daily: pl.DataFrame) -> bytes:
    """Cumulative costs in account currency, stacked by cost column (commission, fees, spread, impact, borrow)."""
    frame = prepare_daily(daily)
    fig, ax = _figure()
    present = [c for c in COST_COLUMNS if c in frame.columns]
    if present and frame.height:
        stacks = [np.cumsum(np.nan_to_num(_values(frame, c))) for c in present]
        ax.stackplot(_dates(frame), *stacks, labels=present, alpha=0.85)
    _finish(ax, "Cumulative costs")
    return _png(fig)


def ic_by_regime_png(metrics: MetricsReport) -> bytes:
    """Mean daily IC of the strategy overall and per regime, with +/- one standard error."""
    rows = metrics.table.filter(pl.col("series") == "strategy")
    labels = rows.get_column("regime").to_list()
    means = rows.get_column("mean_ic").to_numpy()
    tstats = rows.get_column("ic_tstat").to_numpy()
    # standard error = mean / t; undefined (no bar) where the t-stat is NaN or zero.
    with np.errstate(divide="ignore", invalid="ignore"):
        errors = np.where(np.isfinite(tstats) & (tstats != 0), np.abs(means / tstats), 0.0)
    fig, ax = _figure(height=3.0)
    colors = ["#555555" if r == ALL else "#b23a3a" if r == SHADED_REGIME else "#1f4e9c" for r in labels]
    ax.bar(labels, np.nan_to_num(means), yerr=errors, color=colors, capsize=4)
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_title("Mean IC by regime (+/- 1 s.e.)")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def comparison_equity_png(a: pl.DataFrame, b: pl.DataFrame, names: tuple[str, str]) -> bytes:
    """Growth of 1 of two experiments' strategies, with the first one's benchmark for reference (log scale)."""
    fa, fb = prepare_daily(a), prepare_daily(b)
    fig, ax = _figure()
    ax.plot(_dates(fa), _growth(fa, "daily_return"), label=names[0], color=_COLORS["strategy"], lw=1.2)
    ax.plot(_dates(fb), _growth(fb, "daily_return"), label=names[1], color="#b23a3a", lw=1.2)
    if "benchmark_return" in fa.columns:
        ax.plot(
            _dates(fa),
            _growth(fa, "benchmark_return"),
            label=f"Benchmark ({names[0]})",
            color=_COLORS["benchmark"],
            lw=0.9,
            ls="--",
        )
    if fa.height or fb.height:
        _log_axis(ax)
    _shade(ax, fa)
    _finish(ax, "Growth of 1 (log scale)")
    return _png(fig)


def return_difference_png(a: pl.DataFrame, b: pl.DataFrame, names: tuple[str, str]) -> bytes:
    """Daily return of ``a`` minus ``b`` on their common sessions, with its running sum."""
    diff = return_difference(a, b)
    fig, ax = _figure()
    x = _dates(diff)
    d = _values(diff, "difference")
    # A thin line, not bars: thousands of bar patches take seconds to draw for the same picture.
    ax.plot(x, d, color="#7f7f7f", lw=0.5, label="daily")
    ax.plot(x, np.nancumsum(d), color="#1f4e9c", lw=1.2, label="cumulative (sum)")
    ax.axhline(0.0, color="black", lw=0.6)
    _percent_axis(ax)
    _finish(ax, f"Daily return difference: {names[0]} - {names[1]}")
    return _png(fig)


def return_difference(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    """``session``, ``difference`` (a's daily return minus b's) on the sessions both experiments have."""
    fa = prepare_daily(a).select("session", pl.col("daily_return").alias("a"))
    fb = prepare_daily(b).select("session", pl.col("daily_return").alias("b"))
    joined = fa.join(fb, on="session", how="inner").sort("session")
    return joined.select("session", (pl.col("a") - pl.col("b")).alias("difference"))


def rolling_sharpe(returns: pl.Series, window: int = ROLLING_WINDOW) -> np.ndarray:
    """Annualised Sharpe of the trailing ``window`` returns (NaN until a full window; NaN at zero vol)."""
    r = returns.cast(pl.Float64)
    mean = r.rolling_mean(window, min_samples=window)
    std = r.rolling_std(window, min_samples=window)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (mean / std).to_numpy() * math.sqrt(TRADING_DAYS)
    return np.where(np.isfinite(out), out, np.nan)


def _figure(height: float = _HEIGHT) -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(_WIDTH, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas: rendering never goes through pyplot's backend
    return fig, fig.add_subplot()


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No Software entry: the bytes then depend on the data only, not on the matplotlib version string.
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _finish(ax: Axes, title: str) -> None:
    ax.set_title(title)
    ax.grid(alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="best", fontsize=8, frameon=False)


def _log_axis(ax: Axes) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.set_yscale("log")
    # Plain numbers (0.8, 1, 2) read better on a growth-of-1 chart than powers of ten.
    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)


def _percent_axis(ax: Axes) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))


def _dates(frame: pl.DataFrame) -> np.ndarray:
    return frame.get_column("session").to_numpy()


def _values(frame: pl.DataFrame, column: str) -> np.ndarray:
    return frame.get_column(column).cast(pl.Float64).fill_null(math.nan).to_numpy()


def _growth(frame: pl.DataFrame, column: str) -> np.ndarray:
    # A missing return counts as a flat session so the curve continues instead of breaking.
    return np.cumprod(1.0 + np.nan_to_num(_values(frame, column)))


def _drawdown(growth: np.ndarray) -> np.ndarray:
    if not growth.size:
        return growth
    return growth / np.maximum.accumulate(growth) - 1.0


def _shade(ax: Axes, frame: pl.DataFrame) -> None:
    """Shade each run of consecutive SHADED_REGIME sessions, from its first session to the next session."""
    if not frame.height:
        return
    flags = (frame.get_column("regime") == SHADED_REGIME).to_numpy()
    if not flags.any():
        return
    x = _dates(frame)
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    kwargs: dict[str, Any] = {"color": "#b23a3a", "alpha": 0.12, "lw": 0, "label": "crisis regime"}
    for start, end in zip(starts, ends, strict=True):
        # The span covers the run's last session up to the next one (or one day beyond the last session).
        stop = x[end] if end < x.size else x[end - 1] + np.timedelta64(1, "D")
        ax.axvspan(x[start], stop, **kwargs)
        kwargs.pop("label", None)
