"""Residual features: market- and sector-neutral returns of each name (short-term residual reversal), point in time.

Alpha158 sees short-term reversal only through raw returns, which mix the market's and the sector's moves with the
name's own. This family ranks names on their residual return instead. Every row of session ``d`` comes from the
:data:`RESIDUAL_WINDOW` sessions ending at ``d`` as known at ``d``'s decision time, read by the one point-in-time
panel reader (:class:`~prometheus.data.panel.PointInTimePanel`: block reads, re-reads for late bars and
revisions); a name's residual depends on every name's bars (the market and sector means), so a per-symbol reader
would not do.

Definitions, over the window of session ``d`` (rows ``s``, names ``i`` = the instruments listed at ``d``):

- ``m_s``: equal-weighted mean of the returns of the names with a return on ``s`` (NaN when none has one).
- ``beta_i``: OLS slope of ``r_i`` on ``m`` over the (at most 60) sessions of the window where both are finite,
  with an intercept; null when fewer than :data:`MIN_BETA_PAIRS` pairs or ``m`` is constant over them.
  ``resid_beta_60`` reports it; the residuals then use ``beta_i = 1`` (the market-adjusted return).
- ``u_is = r_is - beta_i * m_s``: the market residual.
- ``e_is = u_is - mean_j u_js`` over the names ``j`` of ``sector(i)`` with a return on ``s`` (``i`` included);
  when fewer than :data:`MIN_SECTOR_NAMES` of them have one that day, or the sector is unknown (``''``),
  ``e_is = u_is`` (the market-only residual).

The beta is estimated once per window and applied to all its sessions, including ``d`` itself: an in-sample
residual, every input known at ``d``'s decision time. The market and sector means use the names listed at ``d``
(a name delisted earlier in the window is not in ``d``'s panel). A sum or a std over k sessions is null when any of
the k residuals is missing (no return that day) or the window has fewer than k sessions; every output is a
nullable ``Float64`` (null, never NaN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

import numpy as np
import polars as pl

from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.panel import DEFAULT_BLOCK as PANEL_BLOCK
from prometheus.data.panel import PANEL_TABLES, PointInTimePanel
from prometheus.data.schema import Table
from prometheus.data.timemachine import TimeMachine

#: Sessions of each window (the beta's estimation window, also the longest sum).
RESIDUAL_WINDOW = 60
#: Finite (r_i, m) pairs the beta needs, else it is null and the residual uses beta = 1.
MIN_BETA_PAIRS = 40
#: Names of a sector with a return that day for the sector mean to be used, else the market-only residual.
MIN_SECTOR_NAMES = 3
#: The tables a view handed to :func:`point_in_time_residual` must hold.
RESIDUAL_TABLES: tuple[Table, ...] = PANEL_TABLES
#: Sessions served from one panel read: the panel's default (measured: 63 was no faster on 500 names x 10 years,
#: as every session then filters a larger block read).
DEFAULT_BLOCK = PANEL_BLOCK


@dataclass(frozen=True)
class ResidualFeature:
    """One declared residual feature: output column, sessions it spans, formula, meaning."""

    name: str
    window: int
    formula: str
    meaning: str


#: The residual features, in output column order.
RESIDUAL_FEATURES: tuple[ResidualFeature, ...] = (
    ResidualFeature("resid_ret_1", 1, "e",
                    "the name's market- and sector-neutral residual return on the session (null if no return)"),
    *(
        ResidualFeature(f"resid_ret_{k}", k, f"Sum(e, {k})",
                        f"sum of the name's market- and sector-neutral residual returns over the last {k} sessions "
                        "(null if any is missing)")
        for k in (5, 10, 20)
    ),
    ResidualFeature("resid_vol_20", 20, "Std(e, 20)",
                    "standard deviation (ddof = 1) of the daily residual returns over the last 20 sessions "
                    "(null if any is missing)"),
    ResidualFeature("resid_beta_60", RESIDUAL_WINDOW, "Cov(r, m, 60) / Var(m, 60)",
                    f"OLS beta of the name's return on the equal-weighted market return over the last "
                    f"{RESIDUAL_WINDOW} sessions (pairs where both exist; null under {MIN_BETA_PAIRS} pairs)"),
)  # fmt: skip
#: Output feature columns, in order.
RESIDUAL_NAMES: tuple[str, ...] = tuple(f.name for f in RESIDUAL_FEATURES)
#: Output schema of :func:`point_in_time_residual`.
RESIDUAL_SCHEMA = MappingProxyType(
    {"date": pl.Date(), "symbol": pl.String(), **{n: pl.Float64() for n in RESIDUAL_NAMES}}
)


def residual_returns(returns: np.ndarray, sectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Daily residuals ``e`` (rows x names, NaN where no return) and each name's beta (NaN when null).

    ``returns`` is a (sessions, names) window, oldest first, NaN where no return; ``sectors`` one string per name
    (``''`` unknown). The beta uses the window's last :data:`RESIDUAL_WINDOW` rows.
    """
    r = np.asarray(returns, dtype=float)
    has = np.isfinite(r)
    count = has.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(has, r, 0.0).sum(axis=1) / count  # NaN on a day without any return
    beta = _beta(r[-RESIDUAL_WINDOW:], m[-RESIDUAL_WINDOW:])
    u = r - np.where(np.isfinite(beta), beta, 1.0)[None, :] * m[:, None]
    return u - _sector_means(u, np.asarray(sectors).astype(str)), beta


def _beta(r: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-name OLS slope on ``m`` over the rows where both are finite (centred sums: no cancellation)."""
    pair = np.isfinite(r) & np.isfinite(m)[:, None]
    n = pair.sum(axis=0)
    x = np.where(pair, m[:, None], 0.0)
    y = np.where(pair, r, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        dx = np.where(pair, x - x.sum(axis=0) / n, 0.0)
        dy = np.where(pair, y - y.sum(axis=0) / n, 0.0)
        var = (dx * dx).sum(axis=0)
        beta = (dx * dy).sum(axis=0) / var
    # A constant market over the pairs (var ~ 0 up to rounding) has no slope.
    scale = (x * x).sum(axis=0)
    ok = (n >= MIN_BETA_PAIRS) & (var > 1e-12 * np.maximum(scale, 1e-300))
    return np.where(ok, beta, np.nan)


def _sector_means(u: np.ndarray, sectors: np.ndarray) -> np.ndarray:
    """Per (row, name): the mean of ``u`` over the name's sector that day, 0 where the market-only residual applies."""
    if u.shape[1] == 0:
        return np.zeros_like(u)
    codes, code = np.unique(sectors, return_inverse=True)
    member = np.zeros((len(sectors), len(codes)))
    member[np.arange(len(sectors)), code] = 1.0
    has = np.isfinite(u)
    # One matrix product per statistic: (rows x names) @ (names x sectors).
    sums = np.where(has, u, 0.0) @ member
    counts = has.astype(float) @ member
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts >= MIN_SECTOR_NAMES, sums / counts, 0.0)
    means[:, codes == ""] = 0.0  # an unknown sector is no sector
    return means[:, code]


def residual_features(returns: np.ndarray, sectors: np.ndarray) -> np.ndarray:
    """The (names, features) values of the window's last session, columns as :data:`RESIDUAL_NAMES` (NaN = null)."""
    e, beta = residual_returns(returns, sectors)
    rows, names = e.shape
    out = np.full((names, len(RESIDUAL_FEATURES)), np.nan)
    for j, f in enumerate(RESIDUAL_FEATURES):
        if f.name.startswith("resid_ret_") and rows >= f.window:
            out[:, j] = e[-f.window :].sum(axis=0)  # NaN if any of the k is missing
        elif f.name.startswith("resid_vol_") and rows >= f.window:
            out[:, j] = e[-f.window :].std(axis=0, ddof=1)
    out[:, RESIDUAL_NAMES.index("resid_beta_60")] = beta
    return out


def point_in_time_residual(
    view: TimeMachine,
    market: Market | str,
    sessions: Sequence[date],
    decision_times: Sequence[datetime],
    history_sessions: Sequence[date],
    *,
    block: int = DEFAULT_BLOCK,
) -> pl.DataFrame:
    """Residual feature rows (:data:`RESIDUAL_SCHEMA`) of ``sessions``, each from its window as known at its decision.

    Parameters
    ----------
    view
        A view holding :data:`RESIDUAL_TABLES` (``instruments``, ``prices_adjusted``) at or after the last
        decision time.
    market
        The market whose instruments are read.
    sessions, decision_times
        Sessions to serve, increasing, and their decision times.
    history_sessions
        Every session of the market from ``RESIDUAL_WINDOW - 1`` sessions before ``sessions[0]`` (fewer at the
        start of history: the windows are then shorter, and features needing more sessions null) to the last.
    block
        Sessions per panel read.

    Returns
    -------
    pl.DataFrame
        One row per (session, instrument listed on it with a bar dated that session known at its decision time),
        sorted by date then symbol.

    Raises
    ------
    DataError
        No sessions, mismatched decision times, or a session missing from ``history_sessions``.
    """
    if not sessions:
        raise DataError("no sessions to compute features for", field="sessions")
    if len(decision_times) != len(sessions):
        raise DataError("one decision time per session is needed", field="decision_times")
    missing = set(sessions) - set(history_sessions)
    if missing:
        raise DataError(f"session {min(missing)} is not in the history sessions given", field="history_sessions")
    panel = PointInTimePanel(
        view, Market(str(market)), sessions, decision_times, history_sessions, RESIDUAL_WINDOW, block=block
    )
    days: list[np.ndarray] = []
    symbols: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for w in panel:
        # A bar has a close; its return may be null (a name's first bar): the row exists, its features are null.
        bar = np.isfinite(w.close[-1]) if w.close is not None else np.isfinite(w.returns[-1])
        if not bar.any():
            continue
        days.append(np.full(int(bar.sum()), np.datetime64(w.session, "D")))
        symbols.append(w.symbols[bar])
        values.append(residual_features(w.returns, w.sectors)[bar])
    if not values:
        return pl.DataFrame(schema=dict(RESIDUAL_SCHEMA))
    x = np.concatenate(values)
    columns = {
        "date": pl.Series("date", np.concatenate(days)).cast(pl.Date()),
        "symbol": pl.Series("symbol", np.concatenate(symbols), dtype=pl.String()),
        **{n: pl.Series(n, x[:, j], dtype=pl.Float64(), nan_to_null=True) for j, n in enumerate(RESIDUAL_NAMES)},
    }
    return pl.DataFrame(columns)


def residual_markdown() -> str:
    """The residual feature table of ``docs/features.md``, generated from :data:`RESIDUAL_FEATURES`."""
    lines = [
        f"{len(RESIDUAL_FEATURES)} features over the {RESIDUAL_WINDOW} sessions ending at the session, as known at "
        f"its decision time. `r` the name's total return, `m` the equal-weighted market return, `e` the residual "
        f"`r - beta * m` minus its sector's mean of the same (market-only when the sector has fewer than "
        f"{MIN_SECTOR_NAMES} names with a return that day; beta = 1 where `resid_beta_60` is null).",
        "",
        "| feature | formula | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{f.name}` | `{f.formula}` | {f.meaning} |" for f in RESIDUAL_FEATURES]
    return "\n".join(lines) + "\n"
