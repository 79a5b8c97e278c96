"""Corporate-action adjustment: point-in-time factors, split-adjusted bars and total returns.

Definitions, per symbol, given the set S of actions known at an instant:

- price factor of the bar dated d: ``F(d) = prod(1 / ratio)`` over splits in S with ex-date > d; adjusted
  open/high/low/close = raw x F(d), adjusted volume = raw / F(d) (so the adjusted close has no jump at an
  ex-date and share counts stay comparable);
- ``total_return(d) = (close(d) + dividends(d)) x ratios(d) / close(d_prev) - 1`` with raw closes, where
  ``d_prev`` is the symbol's previous bar and ``dividends``/``ratios`` are the dividends and split ratios in S with
  ex-date in ``(d_prev, d]`` (an action whose ex-date bar is missing counts on the next bar).

Raw bars and actions may themselves have revisions (a corrected close, a corrected dividend: rows with the same key
and a later ``known_at``); at an instant ``t`` each is taken at its latest revision known at ``t``.

The stored ``prices_adjusted`` table holds every revision: the version of bar d known at ``t`` uses the bars and
actions known at ``t``; a bar gets a new revision each time something that changes it becomes known after the bar
(an action, a revision of the bar, a revision of the previous bar, whose close its total return divides by), with
``known_at`` = that instant. The TimeMachine's latest-revision rule then serves, at any ``t``, exactly
:func:`adjusted_as_of` of the raw bars and actions known at ``t`` (a test checks this equality).

Limitation: which bar is a bar's previous one, and which bar an action's return is booked on, is decided over all
bars given, so a bar first delivered after a later one was known (a late bar) is treated as known in date order.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from prometheus.data.schema import ADJUSTMENT_FACTORS, PRICES_ADJUSTED, UTC_DATETIME, CorporateActionKind

_SYM = ["market", "symbol"]
_ROW = ["market", "symbol", "date"]
_ACTION = ["market", "symbol", "date", "action"]
_KEYS = [*_ROW, "tau"]
_OHLCV = ["open", "high", "low", "close", "volume"]


def _with_until(frame: pl.DataFrame, ident: list[str], start: str, until: str) -> pl.DataFrame:
    """Each revision with the instant the next revision of the same ``ident`` replaces it (null: never)."""
    # Sorted, the next revision is the next row when it has the same ident: a shift instead of a window per ident.
    ordered = frame.sort([*ident, start])
    same = pl.all_horizontal([pl.col(c) == pl.col(c).shift(-1) for c in ident])
    return ordered.with_columns(pl.when(same).then(pl.col(start).shift(-1)).alias(until))


def _in_force(start: str, until: str) -> pl.Expr:
    """The revision in ``[start, until)`` is the one known at ``tau``."""
    return (pl.col(start) <= pl.col("tau")) & (pl.col(until).is_null() | (pl.col("tau") < pl.col(until)))


def _bars(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bar revisions (``bar_known_at``, ``bar_until``) and the rows: one per bar, its first ``known_at`` and the
    date of the symbol's previous bar."""
    revs = _with_until(
        raw.select(*_ROW, *_OHLCV, pl.col("known_at").alias("bar_known_at")), _ROW, "bar_known_at", "bar_until"
    )
    same_symbol = pl.all_horizontal([pl.col(c) == pl.col(c).shift(1) for c in _SYM])
    rows = (
        revs.group_by(_ROW)
        .agg(pl.col("bar_known_at").min().alias("first"))
        .sort(_ROW)
        .with_columns(pl.when(same_symbol).then(pl.col("date").shift(1)).alias("prev_date"))
    )
    return revs, rows


def _actions(actions: pl.DataFrame) -> pl.DataFrame:
    """Action revisions with ``a`` (their ``known_at``) and ``a_until``."""
    picked = actions.select(*_ACTION, "value", pl.col("known_at").alias("a"))
    return _with_until(picked, _ACTION, "a", "a_until")


def _splits(acts: pl.DataFrame) -> pl.DataFrame:
    return acts.filter(pl.col("action") == CorporateActionKind.SPLIT.value).select(
        *_SYM, pl.col("date").alias("ex_date"), pl.col("value").log().alias("log_ratio"), "a", "a_until"
    )


def _mapped(acts: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """Each action on the first bar dated on or after its ex-date (the bar whose total return it enters)."""
    dates = rows.select(*_SYM, "date", pl.col("date").alias("row_date")).sort("date")
    out = (
        acts.sort("date")
        .join_asof(dates, on="date", by=_SYM, strategy="forward", check_sortedness=False)
        .filter(pl.col("row_date").is_not_null())
    )
    return out.select(*_SYM, pl.col("row_date").alias("date"), "action", "value", "a", "a_until")


def _previous_closes(versions: pl.DataFrame, revs: pl.DataFrame) -> pl.DataFrame:
    """For ``versions`` with ``prev_date``: the previous bar's close known at ``tau`` and its ``known_at``."""
    prev = revs.select(
        *_SYM,
        pl.col("date").alias("prev_date"),
        pl.col("close").alias("prev_close"),
        pl.col("bar_known_at").alias("prev_known_at"),
        pl.col("bar_until").alias("prev_until"),
    )
    keys = [c for c in versions.columns if c != "prev_date"]
    return (
        versions.join(prev, on=[*_SYM, "prev_date"])
        .filter(_in_force("prev_known_at", "prev_until"))
        .select(*keys, "prev_close", "prev_known_at")
    )


def _evaluate(
    versions: pl.DataFrame, bars: tuple[pl.DataFrame, pl.DataFrame], splits: pl.DataFrame, mapped: pl.DataFrame
) -> pl.DataFrame:
    """Adjusted rows for ``versions`` (``market, symbol, date, tau``): values with the bars and actions known at
    ``tau``. Adds ``used_at``: the latest ``known_at`` among the bar, the previous bar and the actions used."""
    revs, rows = bars
    own = versions.join(revs, on=_ROW).filter(_in_force("bar_known_at", "bar_until"))
    prev = _previous_closes(versions.join(rows.select(*_ROW, "prev_date"), on=_ROW), revs)
    price = (
        versions.join(splits, on=_SYM)
        .filter((pl.col("ex_date") > pl.col("date")) & _in_force("a", "a_until"))
        .group_by(_KEYS)
        .agg(pl.col("log_ratio").sum().alias("lf"), pl.col("a").max().alias("a_price"))
    )
    is_div = pl.col("action") == CorporateActionKind.DIVIDEND.value
    returns = (
        versions.join(mapped, on=_ROW)
        .filter(_in_force("a", "a_until"))
        .group_by(_KEYS)
        .agg(
            pl.when(is_div).then(pl.col("value")).otherwise(0.0).sum().alias("div"),
            pl.when(is_div).then(0.0).otherwise(pl.col("value").log()).sum().alias("lr"),
            pl.col("a").max().alias("a_return"),
        )
    )
    f = (-pl.col("lf").fill_null(0.0)).exp()
    out = (
        own.join(prev, on=_KEYS, how="left")
        .join(price, on=_KEYS, how="left")
        .join(returns, on=_KEYS, how="left")
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
        pl.max_horizontal("bar_known_at", "prev_known_at", "a_price", "a_return").alias("used_at"),
    )


def adjusted_revisions(raw: pl.DataFrame, actions: pl.DataFrame) -> pl.DataFrame:
    """Every revision of the adjusted bars (``prices_adjusted`` rows) from raw bars and corporate actions.

    Parameters
    ----------
    raw
        ``prices_daily`` rows, every revision (one row per (market, date, symbol, known_at)).
    actions
        ``corporate_actions`` rows, every revision.
    """
    revs, rows = _bars(raw)
    acts = _actions(actions)
    splits, mapped = _splits(acts), _mapped(acts, rows)
    first = rows.select(*_ROW, "first")
    later = pl.col("tau") > pl.col("first")
    own = revs.select(*_ROW, pl.col("bar_known_at").alias("tau"))
    # A revision of the previous bar changes this bar's total return.
    prev = (
        rows.select(*_ROW, "first", "prev_date")
        .join(
            revs.select(*_SYM, pl.col("date").alias("prev_date"), pl.col("bar_known_at").alias("tau")),
            on=[*_SYM, "prev_date"],
        )  # fmt: skip
        .filter(later)
        .select(*_KEYS)
    )
    by_split = (
        first.join(splits, on=_SYM)
        .filter(pl.col("date") < pl.col("ex_date"))
        .select(*_ROW, "first", pl.col("a").alias("tau"))
        .filter(later)
        .select(*_KEYS)
    )
    by_return = mapped.join(first, on=_ROW).select(*_ROW, "first", pl.col("a").alias("tau")).filter(later)
    versions = pl.concat([own, prev, by_split, by_return.select(*_KEYS)]).unique()
    out = _evaluate(versions, (revs, rows), splits, mapped).rename({"tau": "known_at"}).drop("used_at")
    return out.select(PRICES_ADJUSTED.names).sort(list(PRICES_ADJUSTED.key))


def adjusted_as_of(raw: pl.DataFrame, actions: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """Adjusted bars as known at ``as_of``: from the latest revisions of the bars and actions known then only.

    ``known_at`` of each row is the latest ``known_at`` among its bar, its previous bar and the actions that
    changed it (the revision a view at ``as_of`` serves).
    """
    cutoff = pl.lit(as_of).cast(UTC_DATETIME)
    revs, rows = _bars(raw.filter(pl.col("known_at") <= cutoff))
    acts = _actions(actions.filter(pl.col("known_at") <= cutoff))
    versions = rows.select(*_ROW, cutoff.alias("tau"))
    out = _evaluate(versions, (revs, rows), _splits(acts), _mapped(acts, rows))
    return (
        out.drop("tau").rename({"used_at": "known_at"}).select(PRICES_ADJUSTED.names).sort("market", "date", "symbol")
    )


def adjustment_factors(actions: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """``adjustment_factors`` rows: per (ex-date, symbol), a revision each time the factors change.

    ``split_factor`` = prod(1 / ratio); ``dividend_factor`` = prod(1 - dividend / previous raw close), the classic
    back-adjustment factor, over the actions of that ex-date known at the revision's ``known_at``, with the
    previous close known then (1 while it is not yet known: an action is often announced before that close).
    """
    revs, rows = _bars(raw)
    acts = _actions(actions)
    ex = ["market", "symbol", "date"]
    days = rows.select(*_SYM, pl.col("date").alias("prev_date"), pl.col("date").alias("_d")).sort("_d")
    groups = (
        acts.group_by(ex)
        .agg(pl.col("a").min().alias("first"))
        .sort("date")
        .join_asof(
            days,
            left_on="date",
            right_on="_d",
            by=_SYM,
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )  # fmt: skip
        .drop("_d")
    )
    prev_revs = revs.select(*_SYM, pl.col("date").alias("prev_date"), pl.col("bar_known_at").alias("tau"))
    versions = pl.concat(
        [
            acts.select(*ex, pl.col("a").alias("tau")),
            groups.join(prev_revs, on=[*_SYM, "prev_date"]).filter(pl.col("tau") > pl.col("first")).select(*ex, "tau"),
        ]
    ).unique()
    keys = [*ex, "tau"]
    versions = versions.join(groups.select(*ex, "prev_date"), on=ex)
    closes = _previous_closes(versions, revs)
    used = versions.join(acts, on=_ACTION[:3]).filter(_in_force("a", "a_until")).join(closes, on=keys, how="left")
    is_split = pl.col("action") == CorporateActionKind.SPLIT.value
    split_f = pl.when(is_split).then(1.0 / pl.col("value")).otherwise(1.0)
    div_f = (
        pl.when(is_split | pl.col("prev_close").is_null())
        .then(1.0)
        .otherwise(1.0 - pl.col("value") / pl.col("prev_close"))
    )
    out = (
        used.with_columns(split_f.alias("split_factor"), div_f.alias("dividend_factor"))
        .group_by(keys)
        .agg(pl.col("split_factor").product(), pl.col("dividend_factor").product())
        .rename({"tau": "known_at"})
    )
    return out.select(ADJUSTMENT_FACTORS.names).sort(list(ADJUSTMENT_FACTORS.key))
