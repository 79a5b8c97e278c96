"""The Assessment label: the forward return from the first tradable price after the decision, ranked per session.

For session d (row i of a calendar-ordered bar panel) and horizon H the position is entered at the open of d + 1,
the first price one can trade after d's decision, and left at the open of d + 1 + H:

    r = C[i+1] / O[i+1] * prod_{j=i+2}^{i+H} (1 + R[j]) * O[i+1+H] / C[i+H] - 1

with split-adjusted opens and closes and R the dividend-inclusive close-to-close total return, so dividends paid
inside the window count. A name whose bars stop inside the window (a delisting) exits at its last close, so its
final loss is in the label (no survivorship bias); a name with a gap inside the window has no label. The label of d
is known once the bar of d + 1 + H is: a sample is usable for training only when that session's bar was known at
the training cutoff, which is what the caller's row limit ``last_known`` enforces (the purge).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.data.timemachine import TimeMachine

#: Columns of :func:`forward_returns` output.
LABEL_SCHEMA = {"date": pl.Date(), "symbol": pl.String(), "forward_return": pl.Float64(), "label": pl.Float64()}


def _dense(bars: pl.DataFrame, days: Sequence[date]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(symbols, {column: (len(days), names) array}) of open, close and total_return; NaN where no bar."""
    index = np.array(days, dtype="datetime64[D]")
    symbols, col = np.unique(bars["symbol"].to_numpy().astype(str), return_inverse=True)
    rows = np.searchsorted(index, bars["date"].to_numpy().astype("datetime64[D]"))
    ok = (rows < len(index)) & (
        index[np.minimum(rows, len(index) - 1)] == bars["date"].to_numpy().astype("datetime64[D]")
    )
    out = {}
    for name in ("open", "close", "total_return"):
        a = np.full((len(days), len(symbols)), np.nan)
        a[rows[ok], col[ok]] = bars[name].cast(pl.Float64).fill_null(np.nan).to_numpy()[ok]
        out[name] = a
    return symbols, out


def forward_returns(bars: pl.DataFrame, days: Sequence[date], horizon: int, last_known: int) -> pl.DataFrame:
    """Forward returns and ranked labels (:data:`LABEL_SCHEMA`) of every session whose label is known.

    Parameters
    ----------
    bars
        ``prices_adjusted`` rows (``date``, ``symbol``, ``open``, ``close``, ``total_return``), one per (date,
        symbol): the latest revisions known at one instant (the training cutoff).
    days
        Calendar sessions, consecutive and increasing, covering the bars.
    horizon
        H, in sessions.
    last_known
        Row in ``days`` of the last session whose bar is known at the cutoff: labels of rows i with
        i + 1 + H <= last_known are returned, no others.

    Returns
    -------
    pl.DataFrame
        ``label`` is the forward return's cross-sectional rank mapped to (-0.5, 0.5) (average ties), per session.
    """
    n_rows = last_known - horizon  # rows 0 .. last_known - 1 - H have their exit bar known
    if n_rows <= 0 or bars.is_empty():
        return pl.DataFrame(schema=LABEL_SCHEMA)
    symbols, a = _dense(bars, days)
    o, c, tr = a["open"], a["close"], a["total_return"]
    has_bar = np.isfinite(c)
    # Name's last bar (row) in the read: a name with no bar after it up to last_known has stopped trading.
    last_bar = np.where(has_bar[: last_known + 1].any(axis=0),
                        last_known - np.argmax(has_bar[: last_known + 1][::-1], axis=0), -1)  # fmt: skip
    log_tr = np.log1p(np.where(np.isfinite(tr), tr, 0.0))
    cum_tr = np.vstack([np.zeros((1, len(symbols))), np.cumsum(log_tr, axis=0)])  # cum_tr[k] = sum rows < k
    cum_bar = np.vstack([np.zeros((1, len(symbols))), np.cumsum(has_bar, axis=0)])
    i = np.arange(n_rows)[:, None]
    entry = i + 1
    exit_ = i + 1 + horizon
    # A delisted name exits at its last close when that falls inside the window.
    delisted = (last_bar[None, :] >= entry) & (last_bar[None, :] < exit_)
    stop = np.where(delisted, last_bar[None, :], exit_ - 1)  # last close row held
    e = entry.repeat(len(symbols), axis=1)
    bars_needed = stop - e + 1
    bars_seen = np.take_along_axis(cum_bar, stop + 1, axis=0) - np.take_along_axis(cum_bar, e, axis=0)
    complete = (bars_seen == bars_needed) & (delisted | has_bar[np.minimum(exit_[:, 0], len(days) - 1), :])
    cols = np.arange(len(symbols))[None, :].repeat(n_rows, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = np.take_along_axis(cum_tr, stop + 1, axis=0) - np.take_along_axis(cum_tr, e + 1, axis=0)
        start = np.log(c[e, cols] / o[e, cols])
        exit_gap = np.where(delisted, 0.0, np.log(o[np.minimum(exit_, len(days) - 1), cols] / c[stop, cols]))
        r = np.expm1(start + inside + exit_gap)
    r = np.where(complete & np.isfinite(r), r, np.nan)
    t_idx, n_idx = np.nonzero(np.isfinite(r))
    frame = pl.DataFrame(
        {
            "date": np.array(days, dtype="datetime64[D]")[t_idx],
            "symbol": symbols[n_idx],
            "forward_return": r[t_idx, n_idx],
        },
        schema={"date": pl.Date(), "symbol": pl.String(), "forward_return": pl.Float64()},
    )
    return rank_labels(frame)


def realised_outcomes(
    view: TimeMachine, calendar: TradingCalendar, market: Market, sessions: Sequence[date], horizon: int
) -> pl.DataFrame:
    """(``session``, ``instrument``, ``forward_return``) of the ``sessions`` whose outcome is known at the view's
    instant (the last H + 1 sessions of a run have none yet): what an IC report may score, point in time."""
    days = calendar.sessions(market, sessions[0], sessions[-1])
    bars = view.table(Table.PRICES_ADJUSTED, market=market, start=days[0], end=days[-1],
                      columns=["date", "symbol", "open", "close", "total_return"])  # fmt: skip
    frame = forward_returns(bars, days, horizon, len(days) - 1)
    return frame.filter(pl.col("date").is_in(list(sessions))).select(
        pl.col("date").alias("session"), pl.col("symbol").alias("instrument"), "forward_return"
    )


def rank_labels(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``label``: the rank of ``forward_return`` within its session, mapped to (-0.5, 0.5)."""
    n = pl.len().over("date")
    rank = pl.col("forward_return").rank("average").over("date")
    return frame.with_columns(((rank - 0.5) / n - 0.5).alias("label")).select(list(LABEL_SCHEMA))
