"""QC rules over parsed vendor rows. Every function returns (rows that pass, rejections) and runs its rules in
the order of :class:`QcRule`, each on the rows the earlier rules kept."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import polars as pl

from prometheus.data.ingest.config import QcConfig
from prometheus.data.ingest.rules import ROW, QcRule, empty_rejections, reject
from prometheus.data.schema import CorporateActionKind

#: Robust sigma from the median absolute deviation of a normal sample.
MAD_TO_SIGMA = 1.4826
_PRICES = ("open", "high", "low", "close")

Step = Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]]


def run_steps(frame: pl.DataFrame, steps: Sequence[Step]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply rule steps in order, each to the rows the previous ones kept."""
    rejected = [empty_rejections()]
    for step in steps:
        frame, bad = step(frame)
        rejected.append(bad)
    return frame, pl.concat(rejected)


def not_a_session(sessions: pl.Series, column: str = "date") -> Step:
    """Rows whose ``column`` is not a session of the market."""
    reason = pl.format("{} is not a session of the market", pl.col(column))
    return lambda f: reject(f, ~pl.col(column).is_in(sessions.implode()), QcRule.NOT_A_SESSION, column, reason)


def unknown_symbol(symbols: pl.Series, *, nullable: bool = False) -> Step:
    """Rows whose symbol is not an instrument of the market (a null symbol passes where ``nullable``)."""
    known = pl.col("symbol").is_in(symbols.implode())
    mask = ~known & pl.col("symbol").is_not_null() if nullable else ~known
    return lambda f: reject(f, mask, QcRule.UNKNOWN_SYMBOL, "symbol", "symbol is not in instruments")


def duplicates(key: Sequence[str]) -> Step:
    """Every copy after the first (in file order) of a key."""
    first = pl.struct(list(key)).is_first_distinct()
    reason = pl.format("duplicate of an earlier row with the same {}", pl.lit(", ".join(key)))
    return lambda f: reject(f.sort(ROW), ~first, QcRule.DUPLICATE_ROW, key[-1], reason)


# ------------------------------------------------------------------------------------------------------ prices
def check_prices(
    bars: pl.DataFrame, sessions: pl.Series, symbols: pl.Series, splits: pl.DataFrame, config: QcConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """QC of parsed daily bars (columns ``_row, date, symbol, open, high, low, close, volume``).

    ``splits`` (``date, symbol, value``) explain price jumps on their ex-dates.
    """
    return run_steps(
        bars,
        [
            _non_positive_price,
            _high_low,
            lambda f: reject(f, pl.col("volume") < 0, QcRule.NEGATIVE_VOLUME, "volume", "volume is negative"),
            not_a_session(sessions),
            unknown_symbol(symbols),
            duplicates(("date", "symbol")),
            lambda f: _spikes(f, splits, config),
            lambda f: _stale(f, config.stale_sessions),
        ],
    )


def _non_positive_price(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    field = pl.lit(None, dtype=pl.String)
    for name in reversed(_PRICES):
        field = pl.when(pl.col(name) <= 0).then(pl.lit(name)).otherwise(field)
    mask = pl.any_horizontal([pl.col(n) <= 0 for n in _PRICES])
    return reject(frame, mask, QcRule.NON_POSITIVE_PRICE, field, "price is zero or negative")


def _high_low(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    high_bad = pl.col("high") < pl.max_horizontal("open", "close", "low")
    low_bad = pl.col("low") > pl.min_horizontal("open", "close", "high")
    reason = pl.format("high {} / low {} inconsistent with open {} and close {}", "high", "low", "open", "close")
    field = pl.when(high_bad).then(pl.lit("high")).otherwise(pl.lit("low"))
    return reject(frame, high_bad | low_bad, QcRule.HIGH_LOW_INCONSISTENT, field, reason)


def _spikes(frame: pl.DataFrame, splits: pl.DataFrame, config: QcConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A close that jumps beyond the threshold from the previous close, while the next close jumps back beyond it
    in the other direction to within the threshold of the level before: a round trip nobody traded.

    Prices are made continuous across split ex-dates first (log close + cumulative log split ratio), so a split
    explains its jump. The session after a spike is a jump back, but the one after it does not return to the
    spike: it loads. A level change that persists is a real move and loads too; a last bar cannot be confirmed
    as a round trip and loads.
    """
    if frame.is_empty():
        return frame, empty_rejections()
    cum = (
        splits.select("date", "symbol", pl.col("value").log().alias("_lr"))
        .group_by("date", "symbol")
        .agg(pl.col("_lr").sum())
        .sort("symbol", "date")
        .with_columns(pl.col("_lr").cum_sum().over("symbol").alias("_cum"))
        .drop("_lr")
        .sort("date")
    )
    lp = pl.col("close").log() + pl.col("_cum").fill_null(0.0)
    work = (
        frame.sort("date")
        .join_asof(cum, on="date", by="symbol", strategy="backward", check_sortedness=False)
        .sort("symbol", "date")
        .with_columns(lp.alias("_lp"))
        .with_columns(
            (pl.col("_lp") - pl.col("_lp").shift(1).over("symbol")).alias("_r"),
            (pl.col("_lp").shift(-1).over("symbol") - pl.col("_lp")).alias("_rn"),
            (pl.col("_lp").shift(-1).over("symbol") - pl.col("_lp").shift(1).over("symbol")).alias("_r2"),
        )
    )
    dev = (pl.col("_r") - pl.col("_r").median().over("symbol")).abs()
    sigma = (
        pl.when(pl.col("_r").count().over("symbol") >= config.spike_min_returns)
        .then(MAD_TO_SIGMA * dev.median().over("symbol"))
        .otherwise(config.default_sigma)
    )
    work = work.with_columns(pl.max_horizontal(config.spike_k * sigma, pl.lit(config.spike_floor)).alias("_thr"))
    jump, back = pl.col("_r"), pl.col("_rn")
    mask = (
        (jump.abs() > pl.col("_thr"))
        & (back.abs() > pl.col("_thr"))
        & (jump.sign() != back.sign())
        & (pl.col("_r2").abs() <= pl.col("_thr"))
    )
    reason = pl.format(
        "close jumps by log {} (threshold {}) and reverts at the next session; no corporate action explains it",
        pl.col("_r").round(3),
        pl.col("_thr").round(3),
    )
    kept, bad = reject(work, mask, QcRule.PRICE_SPIKE, "close", reason)
    return kept.select(frame.columns), bad


def _stale(frame: pl.DataFrame, n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Repeats in a run of at least ``n`` identical bars that each traded (a frozen feed, not a quiet name)."""
    same = pl.all_horizontal([pl.col(c) == pl.col(c).shift(1).over("symbol") for c in _PRICES]).fill_null(False)
    work = frame.sort("symbol", "date").with_columns((same & (pl.col("volume") > 0)).alias("_same"))
    work = work.with_columns((~pl.col("_same")).cum_sum().over("symbol").alias("_run"))
    run_len = pl.len().over("symbol", "_run")
    reason = pl.format("bar unchanged for {} sessions with volume", run_len)
    kept, bad = reject(work, pl.col("_same") & (run_len >= n), QcRule.STALE_PRICE, "close", reason)
    return kept.select(frame.columns), bad


# ---------------------------------------------------------------------------------------------------- actions
def check_actions(
    actions: pl.DataFrame, sessions: pl.Series, symbols: pl.Series, closes: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """QC of parsed corporate actions (``_row, date, symbol, action, value, announced_at``).

    ``closes`` (``date, symbol, close``: the bars that passed QC) give the raw close before each ex-date.
    """
    actions = actions.with_columns(pl.col("action").str.to_lowercase())
    kinds = [k.value for k in CorporateActionKind]
    is_split = pl.col("action") == CorporateActionKind.SPLIT.value
    is_div = pl.col("action") == CorporateActionKind.DIVIDEND.value
    return run_steps(
        actions,
        [
            lambda f: reject(f, ~pl.col("action").is_in(kinds), QcRule.UNKNOWN_ACTION, "action", f"not one of {kinds}"),
            lambda f: reject(
                f, is_split & (pl.col("value") <= 0), QcRule.SPLIT_RATIO_NON_POSITIVE, "value", "split ratio <= 0"
            ),
            lambda f: reject(
                f, is_div & (pl.col("value") <= 0), QcRule.DIVIDEND_NON_POSITIVE, "value", "dividend <= 0"
            ),
            not_a_session(sessions),
            unknown_symbol(symbols),
            duplicates(("date", "symbol", "action")),
            lambda f: _dividend_vs_price(f, closes),
        ],
    )


def _dividend_vs_price(actions: pl.DataFrame, closes: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    with_prev = previous_close(actions, closes)
    mask = (pl.col("action") == CorporateActionKind.DIVIDEND.value) & (pl.col("value") >= pl.col("prev_close"))
    reason = pl.format("dividend {} >= previous close {}", "value", "prev_close")
    kept, bad = reject(with_prev, mask, QcRule.DIVIDEND_NOT_BELOW_PRICE, "value", reason)
    return kept.select(actions.columns), bad


def previous_close(actions: pl.DataFrame, closes: pl.DataFrame) -> pl.DataFrame:
    """``actions`` with ``prev_close``: the raw close of the symbol's last bar strictly before the ex-date."""
    prices = closes.select("date", "symbol", pl.col("close").alias("prev_close")).sort("date")
    return (
        actions.sort("date")
        .join_asof(
            prices, on="date", by="symbol", strategy="backward", allow_exact_matches=False, check_sortedness=False
        )
        .sort(ROW if ROW in actions.columns else ["symbol", "date"])
    )


# ------------------------------------------------------------------------------------------------ instruments
def check_instruments(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """QC of parsed instruments: one row per symbol, delisting not before listing."""
    bad_dates = pl.col("delisted") < pl.col("listed")
    return run_steps(
        frame,
        [
            lambda f: reject(f, bad_dates, QcRule.LISTING_DATES_INCONSISTENT, "delisted", "delisted before listed"),
            duplicates(("symbol",)),
        ],
    )


def session_series(sessions: Sequence[date]) -> pl.Series:
    """Sessions as a Date series (for the ``not_a_session`` rule)."""
    return pl.Series("date", list(sessions), dtype=pl.Date)
