"""The Alpha158 price features (Qlib's definition), as Polars expressions over a (session x instrument) panel.

158 features: 9 K-bar shape features, 4 price ratios and 29 rolling operators x windows 5/10/20/30/60. Each is
declared once in :data:`FEATURES` (name, family, operator, window, formula in Qlib's notation, meaning); the
expressions, the output schema and ``docs/features.md`` (:func:`features_markdown`) are generated from it.

Inputs are split-adjusted bars (``open``, ``high``, ``low``, ``close``, ``volume``; ``vwap`` when a source has it,
else the typical price (H+L+C)/3, as US bars lack VWAP). Notation: ``C, O, H, L, V`` the session's bar,
``Ref(x, d)`` the value d sessions earlier, ``Mean/Std/Sum/Max/Min/Quantile(x, d)`` over the d sessions ending at
t, ``Std`` with ddof = 1, ``Slope/Rsquare/Resi(x, d)`` of the OLS fit of x on 1..d, ``Rank(x, d)`` the percentile
rank of x_t among them (average ties), ``IdxMax/IdxMin(x, d)`` the 1-based position of the first maximum/minimum
counted from the window's oldest session, ``Corr`` Pearson correlation, ``Greater/Less`` elementwise max/min.

Deliberate differences from Qlib, for causal and reproducible rows:

- windows are counted in market sessions on a dense (session x instrument) grid, and a window with any missing
  input (no bar, or no previous bar for a difference) gives null: Qlib's ``min_periods=1`` would instead give a
  value from a partial window. So a rolling feature of window w is null on an instrument's first w - 1 sessions
  (w for operators of one-session differences: CORD, CNT*, SUM*, WVMA, VSUM*);
- a non-finite result (a zero denominator without Qlib's 1e-12 guard, a constant window in CORR or RSQR) is null.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from prometheus.core.errors import DataError

#: Rolling windows, in sessions.
WINDOWS: tuple[int, ...] = (5, 10, 20, 30, 60)
#: Sessions of bars a feature row needs (the longest window plus the previous bar of a difference).
LOOKBACK_SESSIONS = max(WINDOWS) + 1
#: Qlib's guard against a zero denominator.
EPS = 1e-12

#: Columns the input bars must have (``prices_adjusted`` columns; ``vwap`` is optional).
BAR_COLUMNS = MappingProxyType(
    {
        "date": pl.Date(),
        "symbol": pl.String(),
        "open": pl.Float64(),
        "high": pl.Float64(),
        "low": pl.Float64(),
        "close": pl.Float64(),
        "volume": pl.Float64(),
    }
)


class Family(StrEnum):
    """The three groups of Alpha158."""

    KBAR = "kbar"
    PRICE = "price"
    ROLLING = "rolling"


@dataclass(frozen=True)
class Feature:
    """One declared feature.

    ``window`` is None unless rolling; ``history`` is the number of an instrument's sessions the feature needs
    (1 for row-wise features, w for a rolling window, w + 1 when the window holds one-session differences).
    """

    name: str
    family: Family
    operator: str
    window: int | None
    formula: str
    meaning: str
    history: int = 1


C, O, H, L, V = (pl.col(c) for c in ("close", "open", "high", "low", "volume"))  # noqa: E741 (Qlib names)
_VWAP = pl.col("_vwap")


def _ref(x: pl.Expr, d: int) -> pl.Expr:
    return x.shift(d)


def _slope_parts(y: pl.Expr, w: int) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Slope, mean and sample variance of ``y`` over the window (x = 1..w), each null unless the window is full.

    The slope is a weighted sum of the window with centred weights, evaluated per window (not as a running sum), so
    it has no cancellation and no dependence on where the frame starts. Polars refuses weights over nulls, so the
    nulls are zeroed and the result masked by the (null-aware) rolling mean.
    """
    xbar = (w + 1) / 2
    sxx = w * (w * w - 1) / 12
    weights = [(i + 1 - xbar) / sxx for i in range(w)]
    mean = y.rolling_mean(w)
    slope = pl.when(mean.is_not_null()).then(y.fill_null(0.0).rolling_sum(w, weights=weights))
    return slope, mean, y.rolling_var(w)


def _slope(y: pl.Expr, w: int) -> pl.Expr:
    return _slope_parts(y, w)[0]


def _rsquare(y: pl.Expr, w: int) -> pl.Expr:
    slope, _, var = _slope_parts(y, w)
    sxx = w * (w * w - 1) / 12
    return slope * slope * sxx / (var * (w - 1))


def _resi(y: pl.Expr, w: int) -> pl.Expr:
    slope, mean, _ = _slope_parts(y, w)
    # Residual of the last point: y_t - (a + b w) with a = mean - b (w + 1) / 2.
    return y - mean - slope * (w - 1) / 2


def _first_extreme(values: pl.Series, w: int, largest: bool) -> pl.Series:
    a = values.cast(pl.Float64).fill_null(np.nan).to_numpy()
    a = -a if largest else a
    out = np.full(a.shape[0], np.nan)
    if a.shape[0] >= w:
        win = sliding_window_view(a, w)
        # argmin returns the first occurrence; windows holding a NaN are masked by the caller. (The maximum is
        # the argmin of -x: numpy's argmin over a strided window view is several times faster than its argmax.)
        out[w - 1 :] = np.argmin(win, axis=1) + 1.0
    return pl.Series(values.name, out)


def _idx(x: pl.Expr, w: int, *, largest: bool) -> pl.Expr:
    """1-based position, from the window's oldest session, of the first maximum (minimum) of ``x``."""
    extreme = x.rolling_max(w) if largest else x.rolling_min(w)
    pos = x.map_batches(lambda s: _first_extreme(s, w, largest), return_dtype=pl.Float64)
    return pl.when(extreme.is_not_null()).then(pos)


def _corr(a: pl.Expr, b: pl.Expr, w: int) -> pl.Expr:
    return pl.rolling_corr(a, b, window_size=w)


_DC = C - _ref(C, 1)
_DV = V - _ref(V, 1)
_CNT_UP = (C > _ref(C, 1)).cast(pl.Float64)
_CNT_DOWN = (C < _ref(C, 1)).cast(pl.Float64)
_WV = (C / _ref(C, 1) - 1).abs() * V

# Operator -> (formula template with {d}, meaning, builder of the expression for window d).
_ROLLING: dict[str, tuple[str, str, Callable[[int], pl.Expr]]] = {
    "ROC": ("Ref(C, {d}) / C", "price d sessions ago over today's close", lambda d: _ref(C, d) / C),
    "MA": ("Mean(C, {d}) / C", "simple moving average over the close", lambda d: C.rolling_mean(d) / C),
    "STD": ("Std(C, {d}) / C", "close volatility over the close", lambda d: C.rolling_std(d) / C),
    "BETA": ("Slope(C, {d}) / C", "linear trend slope of the close, per session, over the close",
             lambda d: _slope(C, d) / C),
    "RSQR": ("Rsquare(C, {d})", "R-squared of the close's linear trend", lambda d: _rsquare(C, d)),
    "RESI": ("Resi(C, {d}) / C", "residual of today's close from the linear trend, over the close",
             lambda d: _resi(C, d) / C),
    "MAX": ("Max(H, {d}) / C", "highest high over the close", lambda d: H.rolling_max(d) / C),
    "MIN": ("Min(L, {d}) / C", "lowest low over the close", lambda d: L.rolling_min(d) / C),
    "QTLU": ("Quantile(C, {d}, 0.8) / C", "80% quantile of the close (linear) over the close",
             lambda d: C.rolling_quantile(0.8, "linear", d) / C),
    "QTLD": ("Quantile(C, {d}, 0.2) / C", "20% quantile of the close (linear) over the close",
             lambda d: C.rolling_quantile(0.2, "linear", d) / C),
    "RANK": ("Rank(C, {d})", "percentile rank of today's close in the window", lambda d: C.rolling_rank(d) / d),
    "RSV": ("(C - Min(L, {d})) / (Max(H, {d}) - Min(L, {d}) + 1e-12)", "close's position in the window's range",
            lambda d: (C - L.rolling_min(d)) / (H.rolling_max(d) - L.rolling_min(d) + EPS)),
    "IMAX": ("IdxMax(H, {d}) / {d}", "position of the window's highest high (Aroon up)",
             lambda d: _idx(H, d, largest=True) / d),
    "IMIN": ("IdxMin(L, {d}) / {d}", "position of the window's lowest low (Aroon down)",
             lambda d: _idx(L, d, largest=False) / d),
    "IMXD": ("(IdxMax(H, {d}) - IdxMin(L, {d})) / {d}", "sessions from the lowest low to the highest high",
             lambda d: (_idx(H, d, largest=True) - _idx(L, d, largest=False)) / d),
    "CORR": ("Corr(C, Log(V + 1), {d})", "correlation of the close with log volume",
             lambda d: _corr(C, (V + 1).log(), d)),
    "CORD": ("Corr(C / Ref(C, 1), Log(V / Ref(V, 1) + 1), {d})", "correlation of price change with volume change",
             lambda d: _corr(C / _ref(C, 1), (V / _ref(V, 1) + 1).log(), d)),
    "CNTP": ("Mean(C > Ref(C, 1), {d})", "share of up sessions", lambda d: _CNT_UP.rolling_mean(d)),
    "CNTN": ("Mean(C < Ref(C, 1), {d})", "share of down sessions", lambda d: _CNT_DOWN.rolling_mean(d)),
    "CNTD": ("Mean(C > Ref(C, 1), {d}) - Mean(C < Ref(C, 1), {d})", "up share minus down share",
             lambda d: _CNT_UP.rolling_mean(d) - _CNT_DOWN.rolling_mean(d)),
    "SUMP": ("Sum(Greater(C - Ref(C, 1), 0), {d}) / (Sum(Abs(C - Ref(C, 1)), {d}) + 1e-12)",
             "total gain over total absolute change (RSI-like)",
             lambda d: _DC.clip(lower_bound=0).rolling_sum(d) / (_DC.abs().rolling_sum(d) + EPS)),
    "SUMN": ("Sum(Greater(Ref(C, 1) - C, 0), {d}) / (Sum(Abs(C - Ref(C, 1)), {d}) + 1e-12)",
             "total loss over total absolute change",
             lambda d: (-_DC).clip(lower_bound=0).rolling_sum(d) / (_DC.abs().rolling_sum(d) + EPS)),
    "SUMD": ("(Sum(Greater(C - Ref(C, 1), 0), {d}) - Sum(Greater(Ref(C, 1) - C, 0), {d}))"
             " / (Sum(Abs(C - Ref(C, 1)), {d}) + 1e-12)", "gain minus loss over total absolute change",
             lambda d: (_DC.clip(lower_bound=0).rolling_sum(d) - (-_DC).clip(lower_bound=0).rolling_sum(d))
             / (_DC.abs().rolling_sum(d) + EPS)),
    "VMA": ("Mean(V, {d}) / (V + 1e-12)", "volume moving average over today's volume",
            lambda d: V.rolling_mean(d) / (V + EPS)),
    "VSTD": ("Std(V, {d}) / (V + 1e-12)", "volume volatility over today's volume",
             lambda d: V.rolling_std(d) / (V + EPS)),
    "WVMA": ("Std(Abs(C / Ref(C, 1) - 1) * V, {d}) / (Mean(Abs(C / Ref(C, 1) - 1) * V, {d}) + 1e-12)",
             "volume-weighted price change volatility", lambda d: _WV.rolling_std(d) / (_WV.rolling_mean(d) + EPS)),
    "VSUMP": ("Sum(Greater(V - Ref(V, 1), 0), {d}) / (Sum(Abs(V - Ref(V, 1)), {d}) + 1e-12)",
              "total volume increase over total absolute volume change",
              lambda d: _DV.clip(lower_bound=0).rolling_sum(d) / (_DV.abs().rolling_sum(d) + EPS)),
    "VSUMN": ("Sum(Greater(Ref(V, 1) - V, 0), {d}) / (Sum(Abs(V - Ref(V, 1)), {d}) + 1e-12)",
              "total volume decrease over total absolute volume change",
              lambda d: (-_DV).clip(lower_bound=0).rolling_sum(d) / (_DV.abs().rolling_sum(d) + EPS)),
    "VSUMD": ("(Sum(Greater(V - Ref(V, 1), 0), {d}) - Sum(Greater(Ref(V, 1) - V, 0), {d}))"
              " / (Sum(Abs(V - Ref(V, 1)), {d}) + 1e-12)", "volume increase minus decrease over total change",
              lambda d: (_DV.clip(lower_bound=0).rolling_sum(d) - (-_DV).clip(lower_bound=0).rolling_sum(d))
              / (_DV.abs().rolling_sum(d) + EPS)),
}  # fmt: skip

#: Operators whose window holds one-session differences (or, for ROC, reaches d sessions back).
_DIFFERENCES = frozenset(
    {"ROC", "CORD", "CNTP", "CNTN", "CNTD", "SUMP", "SUMN", "SUMD", "WVMA", "VSUMP", "VSUMN", "VSUMD"}
)

_RANGE = H - L + EPS
# Name -> (formula, meaning, expression) of the row-wise features.
_KBAR: dict[str, tuple[str, str, pl.Expr]] = {
    "KMID": ("(C - O) / O", "candle body over the open", (C - O) / O),
    "KLEN": ("(H - L) / O", "candle range over the open", (H - L) / O),
    "KMID2": ("(C - O) / (H - L + 1e-12)", "candle body over the range", (C - O) / _RANGE),
    "KUP": ("(H - Greater(O, C)) / O", "upper shadow over the open", (H - pl.max_horizontal(O, C)) / O),
    "KUP2": ("(H - Greater(O, C)) / (H - L + 1e-12)", "upper shadow over the range",
             (H - pl.max_horizontal(O, C)) / _RANGE),
    "KLOW": ("(Less(O, C) - L) / O", "lower shadow over the open", (pl.min_horizontal(O, C) - L) / O),
    "KLOW2": ("(Less(O, C) - L) / (H - L + 1e-12)", "lower shadow over the range",
              (pl.min_horizontal(O, C) - L) / _RANGE),
    "KSFT": ("(2 C - H - L) / O", "close's skew within the range, over the open", (2 * C - H - L) / O),
    "KSFT2": ("(2 C - H - L) / (H - L + 1e-12)", "close's skew within the range, over the range",
              (2 * C - H - L) / _RANGE),
}  # fmt: skip
_PRICE: dict[str, tuple[str, str, pl.Expr]] = {
    "OPEN0": ("O / C", "open over close", O / C),
    "HIGH0": ("H / C", "high over close", H / C),
    "LOW0": ("L / C", "low over close", L / C),
    "VWAP0": ("VWAP / C, VWAP = (H + L + C) / 3 where missing", "VWAP (or typical price) over close", _VWAP / C),
}


def _declare() -> tuple[Feature, ...]:
    kbar = [Feature(n, Family.KBAR, n, None, f, m) for n, (f, m, _) in _KBAR.items()]
    price = [Feature(n, Family.PRICE, n.removesuffix("0"), None, f, m) for n, (f, m, _) in _PRICE.items()]
    rolling = [
        Feature(f"{op}{d}", Family.ROLLING, op, d, f.format(d=d), m, d + 1 if op in _DIFFERENCES else d)
        for op, (f, m, _) in _ROLLING.items()
        for d in WINDOWS
    ]
    return (*kbar, *price, *rolling)


#: Every feature, in output column order (after ``date`` and ``symbol``).
FEATURES: tuple[Feature, ...] = _declare()
#: Feature column names, in order.
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
#: The declared output: the key columns, then one nullable Float64 per feature (null, never NaN or inf).
OUTPUT_SCHEMA = pl.Schema({"date": pl.Date(), "symbol": pl.String(), **{n: pl.Float64() for n in FEATURE_NAMES}})
#: Row key of the output.
OUTPUT_KEY: tuple[str, ...] = ("date", "symbol")


def expression(feature: Feature) -> pl.Expr:
    """The Polars expression of ``feature`` over one instrument's dense, date-sorted rows.

    Apply it with ``.over("symbol")`` to a grid of several instruments (what :func:`compute_alpha158` computes).
    """
    if feature.family is Family.KBAR:
        return _KBAR[feature.name][2]
    if feature.family is Family.PRICE:
        return _PRICE[feature.name][2]
    assert feature.window is not None
    return _ROLLING[feature.operator][2](feature.window)


def _finite(e: pl.Expr) -> pl.Expr:
    return pl.when(e.is_finite()).then(e)


def _grid(bars: pl.DataFrame, sessions: Sequence[date] | None) -> pl.DataFrame:
    """Every (symbol, session) pair, sorted by symbol then date, with the bar where there is one."""
    days = pl.DataFrame({"date": sorted(set(sessions))} if sessions is not None else {"date": bars["date"].unique()})
    days = days.cast({"date": pl.Date()})
    symbols = bars.select(pl.col("symbol").unique())
    grid = symbols.join(days, how="cross").join(bars, on=["symbol", "date"], how="left")
    return grid.sort("symbol", "date")


def compute_alpha158(bars: pl.DataFrame, sessions: Sequence[date] | None = None) -> pl.DataFrame:
    """The 158 features of every (session, instrument) bar of ``bars``, as a frame with :data:`OUTPUT_SCHEMA`.

    Parameters
    ----------
    bars
        One row per (date, symbol) with :data:`BAR_COLUMNS` (and optionally ``vwap``), already point in time.
    sessions
        The market's sessions covering ``bars`` (windows count them; a session without a bar is a gap). Default:
        the dates present in ``bars``.

    Returns
    -------
    pl.DataFrame
        One row per input bar, sorted by date then symbol.

    Raises
    ------
    DataError
        A missing column, a duplicated (date, symbol), or a bar dated outside ``sessions``.
    """
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise DataError(f"bars lack column(s) {missing}", field=missing[0])
    vwap = pl.col("vwap") if "vwap" in bars.columns else pl.lit(None, dtype=pl.Float64())
    frame = bars.select(*BAR_COLUMNS, vwap.cast(pl.Float64()).alias("_vwap")).cast(dict(BAR_COLUMNS))
    if frame.select(pl.struct("date", "symbol").is_duplicated().any()).item():
        raise DataError("duplicated (date, symbol) in the bars", field="date,symbol")
    if sessions is not None:
        outside = frame.filter(~pl.col("date").is_in(list(sessions)))
        if not outside.is_empty():
            raise DataError(f"bars dated {outside['date'].min()} (and others) are not among the sessions", field="date")
    frame = frame.with_columns(pl.coalesce("_vwap", (H + L + C) / 3).alias("_vwap"), pl.lit(True).alias("_bar"))
    grid = _grid(frame, sessions).with_columns(pl.int_range(pl.len()).over("symbol").alias("_pos"))
    rowwise = [expression(f).alias(f.name) for f in FEATURES if f.family is not Family.ROLLING]
    # The rolling expressions run once over the whole symbol-sorted grid; rows whose window would reach into the
    # previous instrument (position < history - 1) are nulled, which is exactly `.over("symbol")` on a dense grid
    # (a test checks it) at a fraction of the cost of one group-by per expression.
    rolling = [
        pl.when(pl.col("_pos") >= f.history - 1).then(expression(f)).alias(f.name)
        for f in FEATURES
        if f.family is Family.ROLLING and f.operator != "IMXD"
    ]
    # IMXD is IMAX - IMIN (same windows, same mask): reuse the two columns rather than recompute both.
    imxd = [(pl.col(f"IMAX{d}") - pl.col(f"IMIN{d}")).alias(f"IMXD{d}") for d in WINDOWS]
    out = grid.lazy().with_columns(*rowwise, *rolling).with_columns(imxd).filter(pl.col("_bar").fill_null(False))
    out = out.select("date", "symbol", *(_finite(pl.col(n)).alias(n) for n in FEATURE_NAMES))
    return out.sort("date", "symbol").collect().cast(dict(OUTPUT_SCHEMA))


def features_markdown() -> str:
    """The feature table of ``docs/features.md``, generated from :data:`FEATURES` (a test keeps them in sync)."""
    lines = [
        f"{len(FEATURES)} features: "
        + ", ".join(f"{sum(f.family is fam for f in FEATURES)} {fam.value}" for fam in Family)
        + f"; rolling windows {', '.join(map(str, WINDOWS))} sessions.",
        "",
        "| feature | family | formula | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{f.name}` | {f.family.value} | `{f.formula}` | {f.meaning} |" for f in FEATURES]
    return "\n".join(lines) + "\n"
