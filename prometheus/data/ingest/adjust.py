"""Corporate-action adjustment: point-in-time factors, split-adjusted bars and total returns.

Definitions, per symbol, given the set S of actions known at an instant:

- price factor of the bar dated d: ``F(d) = prod(1 / ratio)`` over splits in S with ex-date > d; adjusted
  open/high/low/close = raw x F(d), adjusted volume = raw / F(d) (so the adjusted close has no jump at an
  ex-date and share counts stay comparable);
- ``total_return(d) = (close(d) + dividends(d)) x ratios(d) / close(d_prev) - 1`` with raw closes, where
  ``d_prev`` is the symbol's previous bar and ``dividends``/``ratios`` are the dividends and split ratios in S with
  ex-date in ``(d_prev, d]`` (an action whose ex-date bar is missing counts on the next bar).

The stored ``prices_adjusted`` table holds every revision: the version of bar d known at ``t`` uses the actions
known at ``t``; a bar gets a new revision each time an action that changes it becomes known after the bar, with
``known_at`` = that action's ``known_at``. The TimeMachine's latest-revision rule then serves, at any ``t``, exactly
:func:`adjusted_as_of` of the raw bars and actions known at ``t`` (a test checks this equality).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from prometheus.data.schema import ADJUSTMENT_FACTORS, PRICES_ADJUSTED, UTC_DATETIME, CorporateActionKind

_SYM = ["market", "symbol"]
_ROW = ["market", "symbol", "date"]


def _bars(raw: pl.DataFrame) -> pl.DataFrame:
    """Raw bars sorted by symbol and date, with the previous bar's raw close."""
    return (
        raw.select(*_ROW, "open", "high", "low", "close", "volume", pl.col("known_at").alias("bar_known_at"))
        .sort(_ROW)
        .with_columns(pl.col("close").shift(1).over(_SYM).alias("prev_close"))
    )


def _splits(actions: pl.DataFrame) -> pl.DataFrame:
    return actions.filter(pl.col("action") == CorporateActionKind.SPLIT.value).select(
        *_SYM, pl.col("date").alias("ex_date"), pl.col("value").log().alias("log_ratio"), pl.col("known_at").alias("a")
    )


def _mapped(actions: pl.DataFrame, bars: pl.DataFrame) -> pl.DataFrame:
    """Each action on the first bar dated on or after its ex-date (the bar whose total return it enters)."""
    rows = bars.select(*_SYM, "date", pl.col("date").alias("row_date")).sort("date")
    out = (
        actions.select(*_SYM, "date", "action", "value", pl.col("known_at").alias("a"))
        .sort("date")
        .join_asof(rows, on="date", by=_SYM, strategy="forward", check_sortedness=False)
        .filter(pl.col("row_date").is_not_null())
    )
    return out.select(*_SYM, pl.col("row_date").alias("date"), "action", "value", "a")


def _evaluate(versions: pl.DataFrame, bars: pl.DataFrame, splits: pl.DataFrame, mapped: pl.DataFrame) -> pl.DataFrame:
    """Adjusted rows for ``versions`` (``market, symbol, date, tau``): values with the actions known at ``tau``.

    Adds ``used_at``: the latest ``known_at`` among the bar and the actions used.
    """
    keys = [*_ROW, "tau"]
    price = (
        versions.join(splits, on=_SYM)
        .filter((pl.col("ex_date") > pl.col("date")) & (pl.col("a") <= pl.col("tau")))
        .group_by(keys)
        .agg(pl.col("log_ratio").sum().alias("lf"), pl.col("a").max().alias("a_price"))
    )
    is_div = pl.col("action") == CorporateActionKind.DIVIDEND.value
    returns = (
        versions.join(mapped, on=_ROW)
        .filter(pl.col("a") <= pl.col("tau"))
        .group_by(keys)
        .agg(
            pl.when(is_div).then(pl.col("value")).otherwise(0.0).sum().alias("div"),
            pl.when(is_div).then(0.0).otherwise(pl.col("value").log()).sum().alias("lr"),
            pl.col("a").max().alias("a_return"),
        )
    )
    f = (-pl.col("lf").fill_null(0.0)).exp()
    out = (
        versions.join(bars, on=_ROW)
        .join(price, on=keys, how="left")
        .join(returns, on=keys, how="left")
        .with_columns(f.alias("f"))
    )
    total = (pl.col("close") + pl.col("div").fill_null(0.0)) * pl.col("lr").fill_null(0.0).exp() / pl.col(
        "prev_close"
    ) - 1.0
    return out.select(
        *_ROW,
        *(pl.col(c) * pl.col("f") for c in ("open", "high", "low", "close")),
        pl.col("volume") / pl.col("f"),
        total.alias("total_return"),
        "tau",
        pl.max_horizontal("bar_known_at", "a_price", "a_return").alias("used_at"),
    )


def adjusted_revisions(raw: pl.DataFrame, actions: pl.DataFrame) -> pl.DataFrame:
    """Every revision of the adjusted bars (``prices_adjusted`` rows) from raw bars and corporate actions.

    Parameters
    ----------
    raw
        ``prices_daily`` rows, one per (market, date, symbol).
    actions
        ``corporate_actions`` rows (one revision per action).
    """
    bars = _bars(raw)
    splits = _splits(actions)
    mapped = _mapped(actions, bars)
    base = bars.select(*_ROW, pl.col("bar_known_at").alias("tau"))
    by_split = (
        bars.select(*_ROW, "bar_known_at")
        .join(splits, on=_SYM)
        .filter((pl.col("date") < pl.col("ex_date")) & (pl.col("a") > pl.col("bar_known_at")))
        .select(*_ROW, pl.col("a").alias("tau"))
    )
    by_return = (
        mapped.join(bars.select(*_ROW, "bar_known_at"), on=_ROW)
        .filter(pl.col("a") > pl.col("bar_known_at"))
        .select(*_ROW, pl.col("a").alias("tau"))
    )
    versions = pl.concat([base, by_split, by_return]).unique()
    out = _evaluate(versions, bars, splits, mapped).rename({"tau": "known_at"}).drop("used_at")
    return out.select(PRICES_ADJUSTED.names).sort(list(PRICES_ADJUSTED.key))


def adjusted_as_of(raw: pl.DataFrame, actions: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """Adjusted bars as known at ``as_of``: from the bars and actions with ``known_at <= as_of`` only.

    ``known_at`` of each row is the latest ``known_at`` among its bar and the actions that changed it (the
    revision a view at ``as_of`` serves).
    """
    cutoff = pl.lit(as_of).cast(UTC_DATETIME)
    bars = _bars(raw.filter(pl.col("known_at") <= cutoff))
    known = actions.filter(pl.col("known_at") <= cutoff)
    versions = bars.select(*_ROW, cutoff.alias("tau"))
    out = _evaluate(versions, bars, _splits(known), _mapped(known, bars))
    return (
        out.drop("tau").rename({"used_at": "known_at"}).select(PRICES_ADJUSTED.names).sort("market", "date", "symbol")
    )


def adjustment_factors(actions: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """``adjustment_factors`` rows: per (ex-date, symbol, known_at), the split and total-return factors.

    ``split_factor`` = prod(1 / ratio); ``dividend_factor`` = prod(1 - dividend / previous raw close), the
    classic back-adjustment factor (1 where the previous close is unknown).
    """
    closes = raw.select(*_SYM, "date", pl.col("close").alias("prev_close")).sort("date")
    with_prev = actions.sort("date").join_asof(
        closes, on="date", by=_SYM, strategy="backward", allow_exact_matches=False, check_sortedness=False
    )
    is_split = pl.col("action") == CorporateActionKind.SPLIT.value
    split_f = pl.when(is_split).then(1.0 / pl.col("value")).otherwise(1.0)
    div_f = (
        pl.when(is_split | pl.col("prev_close").is_null())
        .then(1.0)
        .otherwise(1.0 - pl.col("value") / pl.col("prev_close"))
    )
    out = (
        with_prev.with_columns(split_f.alias("split_factor"), div_f.alias("dividend_factor"))
        .group_by("market", "date", "symbol", "known_at")
        .agg(pl.col("split_factor").product(), pl.col("dividend_factor").product())
    )
    return out.select(ADJUSTMENT_FACTORS.names).sort(list(ADJUSTMENT_FACTORS.key))
