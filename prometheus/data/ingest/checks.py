"""Checks over published data, run after an ingestion (Dagster asset checks call these).

- :func:`check_published`: the bars engines read are fit for them (prices positive and finite, high >= low, every
  date a session, at most one current revision per bar) and the share of bars quarantined stays below
  ``QcConfig.max_quarantine_fraction`` (a feed that lost its mind must not reach the engines even if QC caught
  every bad row: the gaps would be everywhere).
- :func:`missing_sessions`: sessions on which a listed name has no bar (nothing to quarantine, only to report).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.types import Market
from prometheus.data.ingest.batch import DateWindow
from prometheus.data.ingest.config import QcConfig
from prometheus.data.schema import Table, schema_of
from prometheus.data.store import HistoricalStore

_PRICES = ("open", "high", "low", "close")


@dataclass(frozen=True)
class PublishedCheck:
    """Outcome of :func:`check_published`: passed, and the figures behind it."""

    passed: bool
    figures: dict[str, float | int]
    problems: tuple[str, ...]


def _current(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    ident = [k for k in schema_of(table).key if k != "known_at"]
    return frame.sort("known_at").unique(ident, keep="last")


def check_published(
    store: HistoricalStore, calendar: TradingCalendar, market: Market, window: DateWindow, config: QcConfig
) -> PublishedCheck:
    """Whether the bars published for ``window`` may be served to engines."""
    raw = _current(
        store.read(Table.PRICES_DAILY, market=market, start=window.start, end=window.end), Table.PRICES_DAILY
    )
    adjusted = _current(
        store.read(Table.PRICES_ADJUSTED, market=market, start=window.start, end=window.end), Table.PRICES_ADJUSTED
    )
    quarantined = store.read(
        Table.QUARANTINE, market=market, where=f"date BETWEEN DATE '{window.start}' AND DATE '{window.end}'"
    ).filter(pl.col("source").str.contains("prices"))
    sessions = pl.Series(calendar.sessions(market, window.start, window.end), dtype=pl.Date)
    bad_price = pl.any_horizontal([(pl.col(c) <= 0) | pl.col(c).is_nan() | pl.col(c).is_null() for c in _PRICES])
    figures: dict[str, float | int] = {
        "bars": raw.height,
        "adjusted_bars": adjusted.height,
        "quarantined_bars": quarantined.height,
        "bad_prices": raw.filter(bad_price).height + adjusted.filter(bad_price).height,
        "high_below_low": raw.filter(pl.col("high") < pl.col("low")).height,
        "non_sessions": raw.filter(~pl.col("date").is_in(sessions.implode())).height,
        "bars_without_adjusted": raw.join(adjusted, on=["date", "symbol"], how="anti").height,
    }
    total = raw.height + quarantined.height
    figures["quarantined_fraction"] = quarantined.height / total if total else 0.0
    problems = [name for name in ("bad_prices", "high_below_low", "non_sessions", "bars_without_adjusted")
                if figures[name]]  # fmt: skip
    if figures["quarantined_fraction"] > config.max_quarantine_fraction:
        problems.append(f"quarantined_fraction > {config.max_quarantine_fraction}")
    return PublishedCheck(not problems, figures, tuple(problems))


def missing_sessions(
    store: HistoricalStore, calendar: TradingCalendar, market: Market, window: DateWindow
) -> pl.DataFrame:
    """``symbol, date``: sessions in ``window`` between a name's listing and delisting (current record) without a
    bar, up to the last session any bar of the market is dated (data not yet delivered is not missing)."""
    bars = store.read(Table.PRICES_DAILY, market=market, start=window.start, end=window.end, columns=["date", "symbol"])
    if bars.is_empty():
        return pl.DataFrame(schema={"symbol": pl.String, "date": pl.Date})
    horizon = bars["date"].max()
    names = _current(store.read(Table.INSTRUMENTS, market=market), Table.INSTRUMENTS)
    sessions = pl.DataFrame({"date": calendar.sessions(market, window.start, horizon)}, schema={"date": pl.Date})
    listed = pl.coalesce("listed", "listed_from")
    expected = (
        names.select("symbol", pl.col("date").alias("listed_from"), "listed", "delisted")
        .join(sessions, how="cross")
        .filter((pl.col("date") >= listed) & (pl.col("delisted").is_null() | (pl.col("date") <= pl.col("delisted"))))
    )
    return (
        expected.join(bars.unique(), on=["symbol", "date"], how="anti").select("symbol", "date").sort("symbol", "date")
    )
