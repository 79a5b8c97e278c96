"""Raw (unadjusted) prices from total returns, with splits and cash dividends, then OHLC bars and volume.

The raw close obeys ``close[t] = (close[t-1] * (1 + r[t]) - dividend[t]) / split_ratio[t]`` where ``r`` is the
total return; so an ingestion that recovers ``r[t] = (close[t] * ratio + dividend) / close[t-1] - 1`` from the
raw file and the corporate actions gets the generator's total return back (up to cent rounding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prometheus.data.synthetic._random import ar1, stream
from prometheus.data.synthetic.config import SyntheticConfig
from prometheus.data.synthetic.returns import Returns
from prometheus.data.synthetic.universe import Universe

_QUARTER = 63  # sessions
#: Move size (in daily sigmas) beyond which volume stops growing: about 25 times a quiet day's activity.
VOLUME_SIGMA_CAP = 10.0


@dataclass(frozen=True)
class Actions:
    """Corporate actions as parallel arrays (ex-date and announcement session indices)."""

    ex: np.ndarray  # int session index of the ex-date
    announced: np.ndarray  # int session index after whose close the action was announced
    name: np.ndarray  # int instrument index
    is_split: np.ndarray  # bool: split (value = new/old shares) or dividend (value = cash per share)
    value: np.ndarray  # float


@dataclass(frozen=True)
class Bars:
    """Raw daily bars, shape (n_sessions, n_names), NaN outside listing windows."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray  # shares
    actions: Actions


@dataclass
class _Book:
    """Mutable state of the price walk: scheduled actions by (ex-date, name) and per-name pending flags."""

    dividend: np.ndarray  # (T, N) cash per share on ex-dates
    split: np.ndarray  # (T, N) ratio on ex-dates, 1 elsewhere
    pending_until: np.ndarray  # (N,) last ex-date of a scheduled action
    records: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool, np.ndarray]]


def _schedule(book: _Book, t: int, idx: np.ndarray, lag: np.ndarray, values: np.ndarray, split: bool) -> None:
    ex = t + lag[idx]
    ok = ex < book.dividend.shape[0]
    idx, ex, values = idx[ok], ex[ok], values[ok]
    if split:
        book.split[ex, idx] = values
    else:
        book.dividend[ex, idx] = values
    book.pending_until[idx] = ex
    book.records.append((ex, np.full(len(idx), t), idx, split, values))


def _announce(cfg: SyntheticConfig, uni: Universe, book: _Book, t: int, close: np.ndarray, ctx: dict) -> None:
    """Announce after the close of ``t``: quarterly dividends of payers, forward and reverse splits."""
    free = ctx["active"] & (book.pending_until < t)
    div = np.flatnonzero(free & ctx["div_day"] & (uni.dividend_yield > 0))
    if len(div):
        cash = np.round(uni.dividend_yield[div] / 4.0 * close[div], 2)
        keep = cash >= 0.01
        _schedule(book, t, div[keep], ctx["lag"], cash[keep], split=False)
    free = ctx["active"] & (book.pending_until < t)
    up = np.flatnonzero(free & (close > uni.split_threshold))
    if len(up):
        ratio = np.where(close[up] > 1.6 * uni.split_threshold[up], 3.0, 2.0)
        _schedule(book, t, up, ctx["lag"], ratio, split=True)
    down = np.flatnonzero(free & (close < cfg.reverse_split_below) & (close > 0))
    if len(down):
        _schedule(book, t, down, ctx["lag"], np.full(len(down), 0.1), split=True)


def _walk(
    cfg: SyntheticConfig, uni: Universe, ret: np.ndarray, corporate: bool = True
) -> tuple[np.ndarray, np.ndarray, Actions]:
    """Loop over sessions (actions depend on the path), vectorised across names; no actions unless ``corporate``."""
    rng = stream(cfg.seed, "actions")
    n_t, n = ret.shape
    book = _Book(np.zeros((n_t, n)), np.ones((n_t, n)), np.full(n, -1), [])
    lag = rng.integers(cfg.action_notice_sessions[0], cfg.action_notice_sessions[1] + 1, size=n)
    phase = rng.integers(0, _QUARTER, size=n)
    ipo = np.where(uni.listed > 0, np.exp(rng.uniform(np.log(10.0), np.log(40.0), size=n)), uni.price0)
    close, ref = np.full((n_t, n), np.nan), np.full((n_t, n), np.nan)
    prev = ipo.copy()
    for t in range(n_t):
        active = (uni.listed <= t) & (t <= uni.delisted)
        reference = (prev - book.dividend[t]) / book.split[t]
        now = np.where(active, np.maximum(reference + prev * ret[t] / book.split[t], 0.01), np.nan)
        close[t], ref[t] = now, np.where(active, reference, np.nan)
        div_day = (t + lag - phase) % _QUARTER == 0
        if corporate:
            _announce(cfg, uni, book, t, now, {"active": active & (t < uni.delisted), "div_day": div_day, "lag": lag})
        prev = np.where(active, now, prev)
    return close, ref, _collect(book, uni)


def _collect(book: _Book, uni: Universe) -> Actions:
    if not book.records:
        empty = np.zeros(0, dtype=np.int64)
        return Actions(empty, empty, empty, np.zeros(0, dtype=bool), np.zeros(0))
    ex = np.concatenate([r[0] for r in book.records])
    ann = np.concatenate([r[1] for r in book.records])
    name = np.concatenate([r[2] for r in book.records])
    is_split = np.concatenate([np.full(len(r[0]), r[3]) for r in book.records])
    value = np.concatenate([r[4] for r in book.records])
    live = ex <= uni.delisted[name]  # an action whose ex-date falls after the delisting never happens
    order = np.lexsort((~is_split[live], name[live], ex[live]))
    return Actions(ex[live][order], ann[live][order], name[live][order], is_split[live][order], value[live][order])


def build_bars(cfg: SyntheticConfig, uni: Universe, rets: Returns, *, corporate: bool = True) -> Bars:
    """Raw OHLCV bars and the corporate actions behind them (streams ``actions`` and ``bars``); without
    ``corporate`` (currency pairs) no dividend or split is ever scheduled."""
    close, ref, actions = _walk(cfg, uni, np.nan_to_num(rets.total), corporate)
    rng = stream(cfg.seed, "bars")
    n_t, n = close.shape
    scale = np.sqrt(rets.idio_vol**2 + (np.outer(rets.market.vol, uni.beta) / np.sqrt(252.0)) ** 2)
    log_move = np.log(close / ref)
    gap = rng.uniform(0.15, 0.45, size=(n_t, n)) * log_move + 0.2 * scale * rng.standard_normal((n_t, n))
    open_ = ref * np.exp(gap)
    body_hi, body_lo = np.fmax(open_, close), np.fmin(open_, close)
    high = body_hi * np.exp(0.5 * scale * np.abs(rng.standard_normal((n_t, n))))
    low = body_lo * np.exp(-0.5 * scale * np.abs(rng.standard_normal((n_t, n))))
    growth = np.exp(np.cumsum(np.log1p(np.nan_to_num(rets.total)), axis=0))
    cap = uni.cap0 * growth
    base_vol = np.nanmean(np.where(np.isnan(close), np.nan, scale), axis=0)
    # Volume reacts to the size of the move in sigmas, but saturates: unbounded, a delisting day of a quiet name
    # (a 100-sigma move) traded trillions of shares, which the ingestion QC rightly rejects as junk.
    sigmas = np.minimum(np.abs(np.nan_to_num(rets.total)) / scale, VOLUME_SIGMA_CAP)
    activity = 0.35 * (sigmas - 0.8) + 0.7 * np.log(scale / base_vol)
    noise = 0.25 * ar1(rng, 0.7, n_t, n)
    dollars = 0.7 * cap**cfg.volume_cap_elasticity * np.exp(activity + noise)
    volume = np.maximum(np.round(dollars / close, -2), 100.0)
    return Bars(open_, high, low, close, volume, actions)
