"""QC rules over parsed vendor rows. Every function returns (rows that pass, rejections) and runs its rules in
the order of :class:`QcRule`, each on the rows the earlier rules kept."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

import polars as pl

from prometheus.core.errors import DataError
from prometheus.data.ingest.batch import FileReport
from prometheus.data.ingest.config import QcConfig
from prometheus.data.ingest.rules import ROW, QcRule, counts_by_rule, empty_rejections, reject
from prometheus.data.ingest.spikes import KNOWN_ON, Verdict, judge_jumps
from prometheus.data.schema import CorporateActionKind, Table

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


def after_ingestion(column: str, ingested_at: datetime) -> Step:
    """Rows whose instant ``column`` lies after the ingestion instant: nobody can have published it yet."""
    reason = pl.format("{} {} is after the ingestion instant {}", pl.lit(column), pl.col(column), pl.lit(ingested_at))
    return lambda f: reject(f, pl.col(column) > ingested_at, QcRule.FUTURE_DATE, column, reason)


def dated_after(latest: date, *, unless: str | None = None) -> Step:
    """Rows dated after ``latest`` (the last session closed at ingestion), unless their instant ``unless`` is
    given (an event announced today about tomorrow's session is real; it is checked by :func:`after_ingestion`)."""
    mask = pl.col("date") > latest
    if unless is not None:
        mask = mask & pl.col(unless).is_null()
    reason = pl.format("date {} is after the last session closed at ingestion ({})", pl.col("date"), pl.lit(latest))
    return lambda f: reject(f, mask, QcRule.FUTURE_DATE, "date", reason)


def published_before_close(closes: pl.DataFrame, column: str = "published_at") -> Step:
    """Rows whose instant ``column`` lies before the close of their session (``closes``: ``date, close``).

    A value about session d is computed from d's close: one stamped earlier carries a wrong date (a vendor that
    dates values by the session they are meant for) or a wrong stamp, and either way pairing it with d would be a
    guess. Rows whose date has no close (not a session) must be rejected before this step.
    """
    reason = pl.format("{} {} is before the close {} of its session {}", pl.lit(column), pl.col(column),
                       pl.col("_close"), pl.col("date"))  # fmt: skip

    def step(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        work = frame.join(
            closes.select("date", pl.col("close").alias("_close")), on="date", how="left", maintain_order="left"
        )
        kept, bad = reject(work, pl.col(column) < pl.col("_close"), QcRule.PUBLISHED_BEFORE_CLOSE, column, reason)
        return kept.select(frame.columns), bad

    return step


# ------------------------------------------------------------------------------------------------------ prices
def check_prices(
    bars: pl.DataFrame,
    sessions: pl.Series,
    listings: pl.DataFrame,
    splits: pl.DataFrame,
    config: QcConfig,
    latest: date,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """QC of parsed daily bars (columns ``_row, date, symbol, open, high, low, close, volume``).

    ``listings`` (``symbol, listed, delisted``) are the instruments that passed QC; ``splits`` (``date, symbol,
    value``) explain price jumps on their ex-dates; ``latest`` is the last session closed at ingestion. The kept
    rows gain :data:`KNOWN_ON`: the session whose bar makes each bar known (a later one for a confirmed jump).
    """
    return run_steps(
        bars,
        [
            dated_after(latest),
            _non_positive_price,
            lambda f: _too_large(f, config.max_price),
            _high_low,
            lambda f: reject(f, pl.col("volume") < 0, QcRule.NEGATIVE_VOLUME, "volume", "volume is negative"),
            _fractional_volume,
            lambda f: reject(
                f,
                pl.col("volume") > config.max_volume,
                QcRule.VOLUME_TOO_LARGE,
                "volume",
                f"volume above max_volume {config.max_volume:g} shares",
            ),
            not_a_session(sessions),
            unknown_symbol(listings["symbol"]),
            lambda f: _outside_listing(f, listings),
            duplicates(("date", "symbol")),
            lambda f: _jumps(f, splits, listings, config),
            lambda f: _stale(f, config.stale_sessions),
        ],
    )


def _non_positive_price(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    field = pl.lit(None, dtype=pl.String)
    for name in reversed(_PRICES):
        field = pl.when(pl.col(name) <= 0).then(pl.lit(name)).otherwise(field)
    mask = pl.any_horizontal([pl.col(n) <= 0 for n in _PRICES])
    return reject(frame, mask, QcRule.NON_POSITIVE_PRICE, field, "price is zero or negative")


def _too_large(frame: pl.DataFrame, limit: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    field = pl.lit(None, dtype=pl.String)
    for name in reversed(_PRICES):
        field = pl.when(pl.col(name) > limit).then(pl.lit(name)).otherwise(field)
    mask = pl.any_horizontal([pl.col(n) > limit for n in _PRICES])
    return reject(frame, mask, QcRule.PRICE_TOO_LARGE, field, f"price above max_price {limit:g}")


def _high_low(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    high_bad = pl.col("high") < pl.max_horizontal("open", "close", "low")
    low_bad = pl.col("low") > pl.min_horizontal("open", "close", "high")
    reason = pl.format("high {} / low {} inconsistent with open {} and close {}", "high", "low", "open", "close")
    field = pl.when(high_bad).then(pl.lit("high")).otherwise(pl.lit("low"))
    return reject(frame, high_bad | low_bad, QcRule.HIGH_LOW_INCONSISTENT, field, reason)


def _fractional_volume(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    # Volumes are shares traded: a fraction means a unit mix-up (lots, thousands, an adjusted volume).
    mask = pl.col("volume") != pl.col("volume").round(0)
    return reject(frame, mask, QcRule.FRACTIONAL_VOLUME, "volume", "volume is not a whole number of shares")


def _outside_listing(frame: pl.DataFrame, listings: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bars before the listing or after the delisting of their instrument (a bound that is null is open)."""
    work = frame.join(listings.select("symbol", "listed", "delisted"), on="symbol", how="left")
    before = pl.col("date") < pl.col("listed")
    after = pl.col("date") > pl.col("delisted")
    reason = (
        pl.when(before)
        .then(pl.format("bar dated before the listing on {}", pl.col("listed")))
        .otherwise(pl.format("bar dated after the delisting on {}", pl.col("delisted")))
    )
    kept, bad = reject(work, before | after, QcRule.OUTSIDE_LISTING, "date", reason)
    return kept.select(frame.columns), bad


def _jumps(
    frame: pl.DataFrame, splits: pl.DataFrame, listings: pl.DataFrame, config: QcConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Spikes (round trips) and held jumps, judged causally (see :mod:`prometheus.data.ingest.spikes`)."""
    if frame.is_empty():
        return frame.with_columns(pl.col("date").alias(KNOWN_ON)), empty_rejections()
    work = judge_jumps(frame, splits, listings.select("symbol", "delisted"), config)
    verdict = pl.col("_verdict")
    spike_reason = pl.format(
        "close jumps by log {} (threshold {}) and the next bar reverts; no corporate action explains it",
        pl.col("_jump").round(3),
        pl.col("_thr").round(3),
    )
    held_reason = pl.format(
        "close jumps by log {} (threshold {}) from the last accepted close; held until the next bar shows a "
        "round trip (price_spike) or a level shift (then loaded, known with that bar)",
        pl.col("_jump").round(3),
        pl.col("_thr").round(3),
    )
    work, spikes = reject(work, verdict == Verdict.SPIKE, QcRule.PRICE_SPIKE, "close", spike_reason)
    work, held = reject(work, verdict == Verdict.HELD, QcRule.UNCONFIRMED_JUMP, "close", held_reason)
    return work.select(*frame.columns, KNOWN_ON), pl.concat([spikes, held])


def _stale(frame: pl.DataFrame, n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ``n``-th and later identical bar in a row that each traded (a frozen feed, not a quiet name).

    Causal on purpose: the earlier repeats of a run load, exactly as they do when bars arrive one day at a time
    (a rule that quarantined them once the run grew would disagree with what daily ingestion already published).
    """
    same = pl.all_horizontal([pl.col(c) == pl.col(c).shift(1).over("symbol") for c in _PRICES]).fill_null(False)
    work = frame.sort("symbol", "date").with_columns((same & (pl.col("volume") > 0)).alias("_same"))
    # A name's first bar is never "same", so every run starts inside its own name: no window per name needed.
    index = pl.int_range(pl.len())
    start = pl.when(~pl.col("_same")).then(index).forward_fill()
    work = work.with_columns((index - start + 1).alias("_position"))
    reason = pl.format("bar unchanged for {} sessions with volume", pl.col("_position"))
    mask = pl.col("_same") & (pl.col("_position") >= n)
    kept, bad = reject(work, mask, QcRule.STALE_PRICE, "close", reason)
    return kept.select(frame.columns), bad


# ---------------------------------------------------------------------------------------------------- actions
def check_actions(
    actions: pl.DataFrame,
    sessions: pl.Series,
    symbols: pl.Series,
    closes: pl.DataFrame,
    config: QcConfig,
    ingested_at: datetime,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """QC of parsed corporate actions (``_row, date, symbol, action, value, announced_at``).

    ``closes`` (``date, symbol, close``: the bars that passed QC) give the raw close before each ex-date. The
    ex-date may lie ahead (actions are announced in advance); the announcement may not.
    """
    actions = actions.with_columns(pl.col("action").str.to_lowercase())
    kinds = [k.value for k in CorporateActionKind]
    is_split = pl.col("action") == CorporateActionKind.SPLIT.value
    is_div = pl.col("action") == CorporateActionKind.DIVIDEND.value
    lo, hi = 1.0 / config.max_split_ratio, config.max_split_ratio
    return run_steps(
        actions,
        [
            after_ingestion("announced_at", ingested_at),
            lambda f: reject(f, ~pl.col("action").is_in(kinds), QcRule.UNKNOWN_ACTION, "action", f"not one of {kinds}"),
            lambda f: reject(
                f, is_split & (pl.col("value") <= 0), QcRule.SPLIT_RATIO_NON_POSITIVE, "value", "split ratio <= 0"
            ),
            lambda f: reject(
                f,
                is_split & ~pl.col("value").is_between(lo, hi),
                QcRule.SPLIT_RATIO_IMPLAUSIBLE,
                "value",
                f"split ratio outside [1/{hi:g}, {hi:g}] (max_split_ratio)",
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


def plausible_split(config: QcConfig) -> pl.Expr:
    """Whether an action row is a split whose ratio the actions QC would keep (the prices QC, which runs first,
    must not explain a jump with a split that is about to be quarantined)."""
    ratio = pl.col("value")
    is_split = pl.col("action").str.to_lowercase() == CorporateActionKind.SPLIT.value
    return is_split & ratio.is_finite() & ratio.is_between(1.0 / config.max_split_ratio, config.max_split_ratio)


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


# ------------------------------------------------------------------------------------------------- a delivery
#: Tables whose files are judged on their own quarantine share: vendor signals (about 4 rows per bar) would
#: otherwise dilute the share of a broken price feed below the limit, and a broken signal feed would hide in it.
OWN_SHARE: tuple[Table, ...] = (Table.SIGNALS,)


def check_quarantine_share(files: Sequence[FileReport], quarantine: pl.DataFrame, config: QcConfig, where: str) -> None:
    """Fail a delivery whose share of quarantined rows exceeds ``config.max_quarantine_fraction``.

    Past that share the feed is broken rather than noisy: loading the rest would publish a history full of holes
    as a success. The share is over every row of every file of the delivery, except the files of
    :data:`OWN_SHARE`, each held to the same limit on its own.

    Raises
    ------
    DataError
        Names the share, the maximum, the rules that quarantined most rows, and the first rejected row of the top
        rule (file, row, field, value, reason).
    """
    groups = [[f for f in files if f.table not in OWN_SHARE], *([f for f in files if f.table is t] for t in OWN_SHARE)]
    for k, group in enumerate(groups):
        sources = [f.source for f in group]
        label = "the delivery's rows" if k == 0 else f"the rows of {', '.join(sources)}"
        _check_share(group, quarantine.filter(pl.col("source").is_in(sources)), config, where, label)


def _check_share(
    files: Sequence[FileReport], quarantine: pl.DataFrame, config: QcConfig, where: str, label: str
) -> None:
    read = sum(f.rows_read for f in files)
    bad = quarantine.height
    if read == 0 or bad / read <= config.max_quarantine_fraction:
        return
    counts = sorted(counts_by_rule(quarantine).items(), key=lambda kv: -kv[1])
    top = ", ".join(f"{rule} {n:,}" for rule, n in counts[:3])
    first = quarantine.filter(pl.col("rule") == counts[0][0]).sort("source", "row").row(0, named=True)
    raise DataError(
        f"{bad / read:.1%} of {label} were quarantined ({bad:,} of {read:,}), above the maximum "
        f"{config.max_quarantine_fraction:.1%} (max_quarantine_fraction); top rules: {top}. The first row of the "
        f"top rule has value {first['value']!r}: {first['reason']}. Nothing from {where} was published.",
        file=first["source"],
        row=first["row"],
        field=first["field"],
        value=first["value"],
    )
