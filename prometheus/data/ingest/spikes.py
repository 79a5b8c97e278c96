"""Causal judgement of price jumps: each bar against the bars before it, confirmed or refuted by the next one.

Per name, in date order, with prices made continuous across split ex-dates (log close + cumulative log split
ratio, so a split explains its jump):

- the *reference* is the last accepted close; a bar whose log distance from it exceeds the threshold
  ``max(spike_k * sigma, spike_floor)`` is a **jump**; sigma = 1.4826 x the median absolute log return over the
  ``spike_window`` returns *before* the bar (``default_sigma`` with fewer than ``spike_min_returns``);
- a jump is **held** until the next bar arrives. If that bar jumps back by more than the threshold to within it of
  the reference, the jump was a round trip nobody traded: a **spike** (quarantined, the reference stays). Otherwise
  the move persisted: a **level shift**, accepted, but known only when the confirming bar is known (a live system
  could not have trusted it earlier), and the reference moves to it;
- a jump on a name's last bar stays held (quarantined as unconfirmed), except on the instrument's delisting date:
  a delisting bar is final by declaration and no later bar will ever confirm it.

A bar's verdict depends only on the bars up to the next one, so ingesting a growing history day by day gives the
same verdicts and known-at instants as ingesting it once (tested): appending bars never changes an earlier
verdict; only the last bar's *held* verdict is replaced by its final one.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import polars as pl

from prometheus.data.ingest.config import QcConfig

#: Robust sigma from the median absolute deviation of a normal sample (the median |return| of a centred one).
MAD_TO_SIGMA = 1.4826
#: Column of the session whose bar makes a bar known: the bar's own date, or the confirming bar's for a level shift.
KNOWN_ON = "_known_on"


class Verdict(IntEnum):
    """Outcome of the jump judgement of one bar."""

    ACCEPTED = 0
    SPIKE = 1
    HELD = 2


def judge_jumps(bars: pl.DataFrame, splits: pl.DataFrame, delisted: pl.DataFrame, config: QcConfig) -> pl.DataFrame:
    """``bars`` sorted by symbol and date with ``_verdict`` (:class:`Verdict`), ``_jump`` (log distance from the
    reference), ``_thr`` (the threshold) and :data:`KNOWN_ON`.

    ``bars`` has ``date, symbol, close``; ``splits`` (``date, symbol, value``) are the plausible splits;
    ``delisted`` (``symbol, delisted``) the instruments' delisting dates.
    """
    work = _continuous_log_close(bars, splits).join(delisted, on="symbol", how="left")
    work = work.with_columns((pl.col("_lp") - pl.col("_lp").shift(1).over("symbol")).abs().alias("_abs_r"))
    sigma = MAD_TO_SIGMA * pl.col("_abs_r").rolling_median(config.spike_window, min_samples=config.spike_min_returns)
    # shift(1): the sigma of a bar comes from the returns before it, never from its own.
    prior = sigma.shift(1).over("symbol").fill_null(config.default_sigma)
    work = work.with_columns(pl.max_horizontal(config.spike_k * prior, pl.lit(config.spike_floor)).alias("_thr"))
    verdict, confirm, jump = _scan(
        work["symbol"].to_numpy(),
        work["_lp"].to_numpy(),
        work["_thr"].to_numpy(),
        (work["date"] == work["delisted"]).fill_null(False).to_numpy(),
    )
    own = np.arange(len(confirm))
    known_on = work["date"].gather(np.where(confirm >= 0, confirm, own)).alias(KNOWN_ON)
    return work.drop("delisted", "_abs_r").with_columns(
        pl.Series("_verdict", verdict, dtype=pl.Int8), pl.Series("_jump", jump), known_on
    )


def _continuous_log_close(bars: pl.DataFrame, splits: pl.DataFrame) -> pl.DataFrame:
    cum = (
        splits.select("date", "symbol", pl.col("value").log().alias("_lr"))
        .group_by("date", "symbol")
        .agg(pl.col("_lr").sum())
        .sort("symbol", "date")
        .with_columns(pl.col("_lr").cum_sum().over("symbol").alias("_cum"))
        .drop("_lr")
        .sort("date")
    )
    return (
        bars.sort("date")
        .join_asof(cum, on="date", by="symbol", strategy="backward", check_sortedness=False)
        .sort("symbol", "date")
        .with_columns((pl.col("close").log() + pl.col("_cum").fill_null(0.0)).alias("_lp"))
        .drop("_cum")
    )


def _scan(
    symbols: np.ndarray, lp: np.ndarray, thr: np.ndarray, final: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sequential rule, vectorised across names: step k visits every name's k-th bar at once.

    Returns per bar the verdict, the index of the bar that confirmed a level shift (-1 if none) and the log
    distance from the reference. Rows are sorted by symbol then date.
    """
    n = len(lp)
    verdict = np.zeros(n, dtype=np.int8)
    confirm = np.full(n, -1, dtype=np.int64)
    jump = np.zeros(n, dtype=np.float64)
    if n == 0:
        return verdict, confirm, jump
    starts = np.flatnonzero(np.r_[True, symbols[1:] != symbols[:-1]])
    lengths = np.diff(np.r_[starts, n])
    order = np.argsort(-lengths, kind="stable")  # longest first: the names still active at step k are a prefix
    starts, lengths = starts[order], lengths[order]
    m = len(starts)
    ref = lp[starts].copy()  # a name's first bar has nothing to be judged against: it is the first reference
    pending = np.full(m, -1, dtype=np.int64)
    pending_thr = np.zeros(m)
    for k in range(1, int(lengths[0])):
        active = int(np.searchsorted(-lengths, -k, side="left"))  # names with more than k bars
        i = starts[:active] + k
        x = lp[i]
        r, p, pt = ref[:active], pending[:active], pending_thr[:active]
        held = p >= 0
        held_at = np.where(held, p, i)
        back = held & (np.abs(x - r) <= pt) & (np.abs(x - lp[held_at]) > pt)
        verdict[p[back]] = Verdict.SPIKE
        shift = held & ~back
        verdict[p[shift]] = Verdict.ACCEPTED
        confirm[p[shift]] = i[shift]
        r[shift] = lp[p[shift]]
        p[held] = -1
        jump[i] = x - r
        jumps = np.abs(x - r) > thr[i]
        verdict[i[jumps]] = Verdict.HELD
        p[jumps] = i[jumps]
        pt[jumps] = thr[i[jumps]]
        r[~jumps] = x[~jumps]
    last = pending[pending >= 0]
    verdict[last[final[last]]] = Verdict.ACCEPTED
    return verdict, confirm, jump
