"""Headline metrics of a backtest: the strategy, the benchmark and the 1/N baseline, overall and per regime.

Return-based metrics come from empyrical-reloaded (daily returns, 252 sessions a year, zero risk-free rate); hit
rate, turnover, cost drag and IC are plain averages computed here. A span with fewer than two sessions gets NaN for
every metric (one return says nothing about a rate or a spread), never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date

import numpy as np
import polars as pl

from prometheus.backtest.schema import COST_COLUMNS
from prometheus.core.errors import DataError

#: Sessions a year: the annualisation factor of every metric.
TRADING_DAYS = 252
#: The three return series of a daily frame: name in the tables -> column of ``backtest_daily``.
SERIES: dict[str, str] = {"strategy": "daily_return", "benchmark": "benchmark_return", "baseline": "baseline_return"}
#: Display names of the series.
SERIES_LABELS: dict[str, str] = {"strategy": "Strategy", "benchmark": "Benchmark", "baseline": "1/N baseline"}
#: The regime of the whole span in the tables.
ALL = "all"
#: Regime of sessions before the Regime engine labelled any (null ``regime_label``).
UNKNOWN = "unknown"
#: Known labels first, in increasing volatility (the Regime engine's order); others follow alphabetically.
_REGIME_ORDER = ("calm", "normal", "crisis")


@dataclass(frozen=True)
class SeriesMetrics:
    """Metrics of one return series over one span (all sessions, or the sessions of one regime).

    Fractions are plain numbers (0.1 = 10 %); NaN where undefined (fewer than two sessions, a missing column, a
    series without turnover or IC). Sharpe and Sortino are ``inf`` for a constant positive return (zero vol).
    """

    sessions: int  #: sessions with a return in the span
    annual_return: float  #: geometric: (prod(1 + r)) ^ (252 / n) - 1  [empyrical.annual_return]
    annual_volatility: float  #: std(r, ddof=1) x sqrt(252)  [empyrical.annual_volatility]
    sharpe: float  #: mean(r) / std(r, ddof=1) x sqrt(252), risk-free 0  [empyrical.sharpe_ratio]
    sortino: float  #: mean(r) x 252 / downside deviation below 0, annualised  [empyrical.sortino_ratio]
    max_drawdown: float  #: worst peak-to-trough of the compounded returns, <= 0  [empyrical.max_drawdown]
    calmar: float  #: annual return / |max drawdown| (NaN without a drawdown)  [empyrical.calmar_ratio]
    hit_rate: float  #: share of sessions with a return > 0
    avg_turnover: float  #: mean daily turnover (traded notional / equity)
    annual_turnover: float  #: avg_turnover x 252
    cost_drag: float  #: (sum of cost columns / n x 252) / mean equity
    mean_ic: float  #: mean daily rank IC of the assessment (NaN with fewer than two IC values)
    ic_tstat: float  #: mean IC / (std IC, ddof=1 / sqrt(n_ic)); NaN when std is 0
    ic_sessions: int  #: sessions with an IC value in the span


#: Metric fields in table order (every field of SeriesMetrics).
METRIC_NAMES: tuple[str, ...] = tuple(f.name for f in fields(SeriesMetrics))

#: Human name of each metric, as the tables show it.
METRIC_LABELS: dict[str, str] = {
    "sessions": "Sessions",
    "annual_return": "Annual return",
    "annual_volatility": "Annual volatility",
    "sharpe": "Sharpe ratio",
    "sortino": "Sortino ratio",
    "max_drawdown": "Max drawdown",
    "calmar": "Calmar ratio",
    "hit_rate": "Hit rate",
    "avg_turnover": "Avg daily turnover",
    "annual_turnover": "Annual turnover",
    "cost_drag": "Cost drag",
    "mean_ic": "Mean IC",
    "ic_tstat": "IC t-stat",
    "ic_sessions": "IC sessions",
}
#: Metrics shown as percentages; the others as plain numbers.
PERCENT_METRICS = frozenset(
    {"annual_return", "annual_volatility", "max_drawdown", "hit_rate", "avg_turnover", "annual_turnover", "cost_drag"}
)


@dataclass(frozen=True)
class MetricsReport:
    """Metrics of one backtest: ``table`` has one row per (series, regime).

    Columns of ``table``: ``series`` (strategy / benchmark / baseline), ``regime`` (``"all"`` for the whole span,
    then each label seen, null labels as ``"unknown"``), then one column per field of :class:`SeriesMetrics`
    (``sessions`` and ``ic_sessions`` Int64, the rest Float64). Turnover, cost drag and IC are the strategy's: NaN
    on the benchmark and baseline rows.
    """

    table: pl.DataFrame
    first_session: date | None  #: first session of the span (None when empty)
    last_session: date | None  #: last session of the span

    def get(self, series: str = "strategy", regime: str = ALL) -> SeriesMetrics:
        """The metrics of ``series`` over ``regime`` (``"all"`` for the whole span)."""
        rows = self.table.filter((pl.col("series") == series) & (pl.col("regime") == regime))
        if rows.height != 1:
            raise KeyError(f"no metrics for series {series!r} in regime {regime!r}")
        row = rows.row(0, named=True)
        return SeriesMetrics(**{name: row[name] for name in METRIC_NAMES})

    @property
    def headline(self) -> pl.DataFrame:
        """The rows of the whole span, one per series."""
        return self.table.filter(pl.col("regime") == ALL)

    @property
    def regimes(self) -> list[str]:
        """Regime labels seen, in table order (without ``"all"``)."""
        return [r for r in self.table.get_column("regime").unique(maintain_order=True).to_list() if r != ALL]


def series_metrics(
    returns: Iterable[float] | np.ndarray,
    *,
    turnover: np.ndarray | None = None,
    costs: np.ndarray | None = None,
    equity: np.ndarray | None = None,
    ic: np.ndarray | None = None,
) -> SeriesMetrics:
    """Metrics of one span of daily ``returns`` (NaN entries dropped); the optional arrays cover the same span.

    ``costs`` is the per-session total cost in money and ``equity`` the session's equity; ``ic`` the daily IC values
    of the span (its own length). Fewer than two returns give NaN everywhere.
    """
    r = np.asarray(list(returns) if not isinstance(returns, np.ndarray) else returns, dtype=float)
    r = r[~np.isnan(r)]
    n = int(r.size)
    ic_values = _finite(ic)
    ic_n = int(ic_values.size)
    mean_ic, ic_t = _ic_stats(ic_values)
    if n < 2:
        nan = math.nan
        return SeriesMetrics(n, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, mean_ic, ic_t, ic_n)
    import empyrical  # lazy: pulls in pandas and scipy (seconds), needed only when metrics are computed

    # empyrical divides by zero for flat series and lets numpy warn; a zero vol is a legitimate outcome here.
    with np.errstate(divide="ignore", invalid="ignore"):
        annual_return = float(empyrical.annual_return(r, annualization=TRADING_DAYS))
        annual_vol = float(empyrical.annual_volatility(r, annualization=TRADING_DAYS))
        sharpe = float(empyrical.sharpe_ratio(r, annualization=TRADING_DAYS))
        sortino = float(empyrical.sortino_ratio(r, annualization=TRADING_DAYS))
        max_dd = float(empyrical.max_drawdown(r))
        calmar = float(empyrical.calmar_ratio(r, annualization=TRADING_DAYS))
    avg_turnover = _mean(turnover)
    cost_total = _finite(costs)
    mean_equity = _mean(equity)
    cost_drag = (
        float(cost_total.sum()) / n * TRADING_DAYS / mean_equity
        if costs is not None and mean_equity > 0 and cost_total.size
        else math.nan
    )
    return SeriesMetrics(
        sessions=n,
        annual_return=annual_return,
        annual_volatility=annual_vol,
        sharpe=sharpe,
        sortino=sortino,
        max_drawdown=max_dd,
        calmar=calmar,
        hit_rate=float(np.mean(r > 0)),
        avg_turnover=avg_turnover,
        annual_turnover=avg_turnover * TRADING_DAYS,
        cost_drag=cost_drag,
        mean_ic=mean_ic,
        ic_tstat=ic_t,
        ic_sessions=ic_n,
    )


def prepare_daily(daily: pl.DataFrame) -> pl.DataFrame:
    """``daily`` sorted by session with a non-null ``regime`` column; raises DataError on unusable input.

    Needs ``session`` and ``daily_return``; every other ``backtest_daily`` column is optional (missing ones make
    their metrics NaN). Sessions must be unique: one experiment and market per frame.
    """
    missing = [c for c in ("session", "daily_return") if c not in daily.columns]
    if missing:
        raise DataError(f"daily results lack column(s) {missing}; expected the backtest_daily columns")
    if daily.get_column("session").n_unique() != daily.height:
        raise DataError("daily results repeat a session: pass one experiment and one market per frame")
    label = pl.col("regime_label").cast(pl.String) if "regime_label" in daily.columns else pl.lit(None, pl.String)
    return daily.sort("session").with_columns(label.fill_null(UNKNOWN).alias("regime"))


def attach_regime(ic: pl.DataFrame, daily: pl.DataFrame) -> pl.DataFrame:
    """The IC frame (``session``, ``ic``) with a ``regime`` column: its own ``regime_label`` if it has one, else
    the daily frame's label of the same session ("unknown" where neither knows)."""
    missing = [c for c in ("session", "ic") if c not in ic.columns]
    if missing:
        raise DataError(f"IC frame lacks column(s) {missing}; expected session and ic")
    prepared = prepare_daily(daily)
    if "regime_label" in ic.columns:
        out = ic.with_columns(pl.col("regime_label").cast(pl.String).alias("regime"))
    else:
        out = ic.join(prepared.select("session", "regime"), on="session", how="left")
    return out.with_columns(pl.col("regime").fill_null(UNKNOWN), pl.col("ic").cast(pl.Float64)).sort("session")


def compute_metrics(daily: pl.DataFrame, ic: pl.DataFrame | None = None) -> MetricsReport:
    """Metrics of the strategy, benchmark and 1/N baseline of ``daily`` (``backtest_daily`` columns), over the
    whole span and per regime label; ``ic`` (``session``, ``ic``[, ``regime_label``]) adds the IC columns.

    Per-regime metrics treat the regime's sessions as one series (its returns compounded in order, so its max
    drawdown is that of the regime's sessions strung together).
    """
    frame = prepare_daily(daily)
    ic_frame = attach_regime(ic, daily) if ic is not None else None
    regimes = _ordered_regimes(frame.get_column("regime").to_list())
    if ic_frame is not None:
        regimes = _ordered_regimes([*regimes, *ic_frame.get_column("regime").to_list()])
    rows: list[dict[str, object]] = []
    for regime in [ALL, *regimes]:
        span = frame if regime == ALL else frame.filter(pl.col("regime") == regime)
        ic_span = None
        if ic_frame is not None:
            ic_span = ic_frame if regime == ALL else ic_frame.filter(pl.col("regime") == regime)
        for series, column in SERIES.items():
            if series == "strategy":
                values = series_metrics(
                    span.get_column(column).cast(pl.Float64).fill_null(math.nan).to_numpy(),
                    turnover=_column(span, "turnover"),
                    costs=_costs(span),
                    equity=_column(span, "equity"),
                    ic=None if ic_span is None else ic_span.get_column("ic").to_numpy(),
                )
            else:
                benchmark = _column(span, column)
                values = series_metrics(np.empty(0) if benchmark is None else benchmark)
            rows.append({"series": series, "regime": regime, **asdict(values)})
    schema: dict[str, pl.DataType] = {"series": pl.String(), "regime": pl.String()}
    schema |= {n: pl.Int64() if n in ("sessions", "ic_sessions") else pl.Float64() for n in METRIC_NAMES}
    sessions = frame.get_column("session")
    return MetricsReport(
        table=pl.DataFrame(rows, schema=schema, orient="row"),
        first_session=sessions.min() if frame.height else None,
        last_session=sessions.max() if frame.height else None,
    )


def regime_session_counts(daily: pl.DataFrame) -> Mapping[str, int]:
    """Sessions per regime label (null labels as "unknown"), in table order."""
    frame = prepare_daily(daily)
    counts = dict(frame.group_by("regime").len().iter_rows())
    return {r: int(counts[r]) for r in _ordered_regimes(counts)}


def _ordered_regimes(labels: Iterable[str]) -> list[str]:
    seen = set(labels)
    known = [r for r in _REGIME_ORDER if r in seen]
    others = sorted(seen - set(_REGIME_ORDER) - {UNKNOWN})
    return known + others + ([UNKNOWN] if UNKNOWN in seen else [])


def _column(frame: pl.DataFrame, name: str) -> np.ndarray | None:
    # Nulls become NaN so numpy code drops them the same way as NaN.
    if name not in frame.columns:
        return None
    return frame.get_column(name).cast(pl.Float64).fill_null(math.nan).to_numpy()


def _costs(frame: pl.DataFrame) -> np.ndarray | None:
    present = [c for c in COST_COLUMNS if c in frame.columns]
    if not present:
        return None
    # A session's total cost; a null cost column on a session counts as no cost (the fills had none).
    total = pl.sum_horizontal([pl.col(c).cast(pl.Float64).fill_null(0.0) for c in present])
    return frame.select(total).to_series().to_numpy()


def _finite(values: np.ndarray | None) -> np.ndarray:
    if values is None:
        return np.empty(0)
    a = np.asarray(values, dtype=float)
    return a[np.isfinite(a)]


def _mean(values: np.ndarray | None) -> float:
    a = _finite(values)
    return float(a.mean()) if a.size else math.nan


def _ic_stats(ic: np.ndarray) -> tuple[float, float]:
    if ic.size < 2:  # like the return metrics: one value is no average
        return math.nan, math.nan
    mean = float(ic.mean())
    # A constant IC has no sampling spread: its t-stat is undefined rather than infinite (ptp, not std, decides:
    # the std of identical floats can come out as rounding noise like 1e-17).
    if float(np.ptp(ic)) == 0.0:
        return mean, math.nan
    return mean, mean / (float(ic.std(ddof=1)) / math.sqrt(ic.size))
