"""Arrays to the declared frames (vendor files and truth); timestamps come from the market calendar's opens and
closes (UTC), prices are converted from the generator's reference units to each instrument's quote units."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from prometheus.data.synthetic.config import REGIMES
from prometheus.data.synthetic.events import Earnings, News
from prometheus.data.synthetic.macro import DAILY_RELEASE_MINUTES, MONTHLY_RELEASE_MINUTES, MacroSeries
from prometheus.data.synthetic.prices import Actions, Bars
from prometheus.data.synthetic.returns import Returns
from prometheus.data.synthetic.schema import (
    CORPORATE_ACTIONS_FILE,
    EVENTS_FILE,
    EXPOSURES_TRUTH,
    INSTRUMENTS_FILE,
    MACRO_FILE,
    MACRO_SERIES_FILE,
    MARKET_TRUTH,
    NEWS_FILE,
    NEWS_TRUTH,
    PRICES_FILE,
    SIGNALS_FILE,
    FileSchema,
)
from prometheus.data.synthetic.text import TONES
from prometheus.data.synthetic.universe import FX_VOLUME_MAX, Universe

#: Minutes after the close at which the vendor publishes a session's signals (``signals.csv``).
SIGNAL_PUBLICATION_MINUTES = 30


class Clock:
    """Session dates and their UTC opens and closes as numpy arrays (microseconds)."""

    def __init__(self, sessions: pl.DataFrame) -> None:
        self.dates = sessions["session"].to_numpy()
        self.opens = sessions["open"].dt.replace_time_zone(None).to_numpy().astype("datetime64[us]")
        self.closes = sessions["close"].dt.replace_time_zone(None).to_numpy().astype("datetime64[us]")

    def after_close(self, t: np.ndarray, minutes: int | np.ndarray) -> np.ndarray:
        """UTC instants ``minutes`` after the close of sessions ``t``."""
        return self.closes[t] + np.asarray(minutes).astype("timedelta64[m]")

    def from_open(self, t: np.ndarray, minutes: int | np.ndarray) -> np.ndarray:
        """UTC instants ``minutes`` after (negative: before) the open of sessions ``t``."""
        return self.opens[t] + np.asarray(minutes).astype("timedelta64[m]")


def _frame(schema: FileSchema, data: dict[str, object]) -> pl.DataFrame:
    utc = {c.name for c in schema.columns if isinstance(c.dtype, pl.Datetime)}
    cols = {k: pl.Series(k, v).dt.replace_time_zone("UTC") if k in utc else v for k, v in data.items()}
    return pl.DataFrame(cols).select([pl.col(c.name).cast(c.dtype) for c in schema.columns if c.name in data])


def _round(values: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    """Round each value to its instrument's decimals (vectorised per distinct number of decimals)."""
    out = np.empty_like(values)
    for d in np.unique(decimals):
        rows = decimals == d
        out[rows] = np.round(values[rows], int(d))
    return out


def instruments_frame(uni: Universe, clock: Clock) -> pl.DataFrame:
    """``instruments.csv``."""
    delisted = np.where(uni.is_delisted, clock.dates[uni.delisted], np.datetime64("NaT"))
    return _frame(
        INSTRUMENTS_FILE,
        {
            "symbol": uni.symbols,
            "name": uni.names,
            "sector": uni.sector_names,
            "exchange": uni.exchange,
            "currency": uni.currency,
            "listed": clock.dates[uni.listed],
            "delisted": delisted,
        },
    )


def prices_frame(uni: Universe, bars: Bars, clock: Clock) -> pl.DataFrame:
    """``prices.csv``: raw bars in quote units rounded to the instrument's decimals (cents for USD and EUR, whole
    yen, 5 or 3 decimals for FX) with OHLC consistency restored after rounding. FX volume is the turnover in
    units of the base currency."""
    t, i = np.nonzero(np.isfinite(bars.close))
    scale, dec = uni.price_scale[i], uni.decimals[i]
    tick = 10.0 ** -dec.astype(np.float64)
    close = np.maximum(_round(bars.close[t, i] * scale, dec), tick)
    open_ = np.maximum(_round(bars.open[t, i] * scale, dec), tick)
    high = np.maximum(_round(bars.high[t, i] * scale, dec), np.maximum(open_, close))
    low = np.maximum(np.minimum(_round(bars.low[t, i] * scale, dec), np.minimum(open_, close)), tick)
    volume = bars.volume[t, i]
    if uni.volume_scale is not None:  # shares x reference price = reference dollars -> base-currency amount
        volume = np.minimum(np.round(volume * bars.close[t, i] * uni.volume_scale[i], -3), FX_VOLUME_MAX)
    return _frame(
        PRICES_FILE,
        {
            "date": clock.dates[t],
            "symbol": uni.symbols[i],
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume.astype(np.int64),
        },
    )


def actions_frame(uni: Universe, actions: Actions, clock: Clock) -> pl.DataFrame:
    """``corporate_actions.csv``: announced 30 minutes after the close of the announcement session; dividends in
    quote units."""
    scale, dec = uni.price_scale[actions.name], uni.decimals[actions.name]
    value = np.where(actions.is_split, actions.value, _round(actions.value * scale, dec))
    return _frame(
        CORPORATE_ACTIONS_FILE,
        {
            "date": clock.dates[actions.ex],
            "symbol": uni.symbols[actions.name],
            "action": np.where(actions.is_split, "split", "dividend").astype(object),
            "value": value,
            "announced_at": clock.after_close(actions.announced, 30),
        },
    )


def events_frame(uni: Universe, ev: Earnings, clock: Clock) -> pl.DataFrame:
    """``events.csv``: BMO 150 min before the open (07:00 New York, 06:30 Frankfurt and Tokyo), AMC 5 min after the
    previous close; EPS in quote units."""
    announced = np.where(ev.before_open, clock.from_open(ev.t, -150), clock.after_close(ev.t - 1, 5))
    surprise = np.round((ev.eps_actual - ev.eps_estimate) / np.maximum(np.abs(ev.eps_estimate), 0.05), 4)
    timing = np.where(ev.before_open, "BMO", "AMC")
    scale = uni.price_scale[ev.name]
    detail = [f"{w} eps={a * k:.2f} est={e * k:.2f}"
              for w, a, e, k in zip(timing, ev.eps_actual, ev.eps_estimate, scale, strict=True)]  # fmt: skip
    return _frame(
        EVENTS_FILE,
        {
            "date": clock.dates[ev.t],
            "symbol": uni.symbols[ev.name],
            "event": np.full(len(ev.t), "earnings"),
            "value": surprise,
            "detail": np.array(detail, dtype=object),
            "announced_at": announced,
        },
    )


def vendor_signals_frame(uni: Universe, rets: Returns, clock: Clock) -> pl.DataFrame:
    """``signals.csv``: per listed (session, name), the alpha feature then ``noise_1`` .. ``noise_k`` (then
    ``calm_feature`` when published), 4 decimals,
    published :data:`SIGNAL_PUBLICATION_MINUTES` after the close (rows in date, symbol, signal order)."""
    t, i = np.nonzero(np.isfinite(rets.total))
    sig = rets.signals
    panels = [sig.feature, *sig.noise]
    names = ["alpha_feature", *(f"noise_{j + 1}" for j in range(len(sig.noise)))]
    if sig.calm_feature is not None:
        panels.append(sig.calm_feature)
        names.append("calm_feature")
    k = len(panels)
    # (rows, k) raveled row-major: a (session, name)'s signals are adjacent, so no sort of ~5M rows is needed.
    values = np.stack([p[t, i] for p in panels], axis=1).astype(np.float64).ravel()
    return _frame(
        SIGNALS_FILE,
        {
            "date": np.repeat(clock.dates[t], k),
            # Gathers from small polars series: no Python string object per row.
            "symbol": pl.Series(uni.symbols.astype(str)).gather(np.repeat(i, k)),
            "signal": pl.Series(names, dtype=pl.String).gather(np.tile(np.arange(k), len(t))),
            "value": np.round(values, 4),
            "published_at": np.repeat(clock.after_close(t, SIGNAL_PUBLICATION_MINUTES), k),
        },
    )


def news_frames(uni: Universe, news: News, ev: Earnings, clock: Clock) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``news.csv`` and ``truth/news_tone.csv``, ordered by publication time then symbol."""
    ordinary = clock.from_open(news.t, news.minute - 210)  # 06:00 New York + minute
    ev_idx = np.maximum(news.event, 0)
    ev_at = np.where(
        ev.before_open[ev_idx], clock.from_open(ev.t[ev_idx], -150), clock.after_close(ev.t[ev_idx] - 1, 5)
    )
    published = np.where(news.event >= 0, ev_at, ordinary)
    order = np.lexsort((uni.symbols[news.name].astype(str), published))
    ids = np.array([f"SYN{k:08d}" for k in range(len(order))], dtype=object)
    vendor = _frame(
        NEWS_FILE,
        {
            "item_id": ids,
            "published_at": published[order],
            "symbol": uni.symbols[news.name][order],
            "source": news.source[order],
            "headline": news.headline[order],
        },
    )
    tone = np.array([t.value for t in TONES], dtype=object)[news.tone[order]]
    truth = _frame(NEWS_TRUTH, {"item_id": ids, "tone": tone, "score": news.score[order]})
    return vendor, truth


def macro_frames(series: list[MacroSeries], clock: Clock) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``macro.csv`` and ``macro_series.csv``."""
    parts = []
    for s in series:
        if s.frequency == "daily":
            released = clock.after_close(s.t_rel, DAILY_RELEASE_MINUTES)
        else:
            released = clock.from_open(s.t_rel, MONTHLY_RELEASE_MINUTES[s.code])
        parts.append(
            _frame(
                MACRO_FILE,
                {
                    "series": np.full(len(s.t_obs), s.code, dtype=object),
                    "date": clock.dates[s.t_obs],
                    "value": s.value,
                    "released_at": released,
                },
            )
        )
    defs = _frame(
        MACRO_SERIES_FILE,
        {
            "series": [s.code for s in series],
            "name": [s.name for s in series],
            "frequency": [s.frequency for s in series],
            "unit": [s.unit for s in series],
            "source": ["synthetic"] * len(series),
        },
    )
    return pl.concat(parts), defs


def market_truth_frame(regimes: np.ndarray, rets: Returns, flow: np.ndarray, clock: Clock) -> pl.DataFrame:
    """``truth/market.parquet``."""
    with np.errstate(invalid="ignore"):
        index = np.nanmean(rets.total, axis=1)
    labels = np.array([r.value for r in REGIMES], dtype=object)
    return _frame(
        MARKET_TRUTH,
        {
            "date": clock.dates,
            "regime": labels[regimes],
            "regime_code": regimes,
            "market_return": rets.market.ret,
            "market_vol": rets.market.vol,
            "slow_vol": rets.market.slow,
            "flow_return": flow,
            "index_return": index,
        },
    )


def exposures_frame(uni: Universe, crowd_loading: np.ndarray) -> pl.DataFrame:
    """``truth/exposures.parquet``."""
    return _frame(
        EXPOSURES_TRUTH,
        {
            "symbol": uni.symbols,
            "sector": uni.sector_names,
            "beta": uni.beta,
            "sector_loading": uni.sector_loading,
            "size": uni.styles[:, 0],
            "value": uni.styles[:, 1],
            "momentum": uni.styles[:, 2],
            "idio_vol": uni.idio_vol,
            "market_cap": uni.cap0,
            "dividend_yield": uni.dividend_yield,
            "crowded": crowd_loading > 0,
            "crowd_loading": crowd_loading,
        },
    )


def signals_frame(uni: Universe, rets: Returns, clock: Clock) -> pl.DataFrame:
    """``truth/signals.parquet`` (float32 except the total return)."""
    t, i = np.nonzero(np.isfinite(rets.total))
    sig = rets.signals
    data: dict[str, object] = {
        "date": clock.dates[t],
        "symbol": uni.symbols[i],
        "signal": sig.latent[t, i],
        "alpha_feature": sig.feature[t, i],
        "reversal": sig.reversal[t, i],
        "calm_signal": sig.calm[t, i],
    }
    for j in range(sig.noise.shape[0]):
        data[f"noise_{j + 1}"] = sig.noise[j][t, i].astype(np.float32)
    data |= {"idio_std_return": rets.idio_std[t, i], "idio_vol": rets.idio_vol[t, i], "total_return": rets.total[t, i]}
    frame = pl.DataFrame(data)
    f32 = [c for c in frame.columns if c not in ("date", "symbol", "total_return")]
    return frame.with_columns(*[pl.col(c).cast(pl.Float32) for c in f32], pl.col("date").cast(pl.Date))


def session_dates(clock: Clock) -> tuple[date, ...]:
    """Sessions as ``datetime.date``."""
    return tuple(d.astype("datetime64[D]").item() for d in clock.dates)
