"""Vendor files: a directory in the layout of ``docs/vendor-files.md`` (CSV or Parquet), parsed, QC'd and given
``known_at`` per ARCHITECTURE section 3 (see ``docs/ingestion.md`` for every rule).

Known-at rules:

- bars: close of the session + bar delay;
- corporate actions: ``announced_at`` (alias ``announced``); without it, the open of the ex-date (the latest
  instant the market must know it; the ex-date's bar, known at its close, is then already adjusted);
- events: ``announced_at``; without it, the close of the event's session + bar delay;
- news: ``published_at`` (or ``received_at`` when later); the row's ``date`` is the first session whose close is at
  or after publication;
- signals: ``published_at`` (alias ``published``; required: the ingestion does not guess when a vendor value
  became known); a value published before the close of its own session is quarantined (``published_before_close``);
- macro observations: ``released_at``; without it, the close of the observation's session + bar delay (the end of
  that day where it is not a session);
- instruments: a first version known with the first bar (close of the listing session + bar delay; the first
  bar's session when ``listed`` is missing), without the delisting; where a delisting date is given, a second
  version known at the close of the last session + bar delay carries it (no view learns a delisting in advance);
- macro series definitions: known from the epoch (a name and a unit say nothing about values).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from prometheus.calendar import MARKETS, TradingCalendar
from prometheus.core.errors import DataError
from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.data.ingest import qc
from prometheus.data.ingest.batch import Batch, FileReport
from prometheus.data.ingest.config import QcConfig
from prometheus.data.ingest.files import Field, Kind, RawFile, find_file, parse, read_file
from prometheus.data.ingest.rules import ROW, to_quarantine
from prometheus.data.ingest.spikes import KNOWN_ON
from prometheus.data.schema import UTC_DATETIME, Table, schema_of

_log = logging.getLogger(__name__)

#: Known-at of rows that carry no information about time (series definitions, market metadata).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Trading currency assumed when ``instruments`` has no currency column.
DEFAULT_CURRENCY = {Market.US_EQ: "USD", Market.US_FUT: "USD", Market.EU_EQ: "EUR", Market.JP_EQ: "JPY",
                    Market.FX_GLOB: "USD"}  # fmt: skip

F, T_, D, N, TM = Field, Kind.TEXT, Kind.DATE, Kind.NUMBER, Kind.TIME
INSTRUMENT_FIELDS = {"symbol": F(T_), "name": F(T_), "sector": F(T_, False), "exchange": F(T_, False),
                     "currency": F(T_, False), "listed": F(D, False), "delisted": F(D, False)}  # fmt: skip
PRICE_FIELDS = {"date": F(D), "symbol": F(T_), "open": F(N), "high": F(N), "low": F(N), "close": F(N),
                "volume": F(N)}  # fmt: skip
ACTION_FIELDS = {"date": F(D), "symbol": F(T_), "action": F(T_), "value": F(N), "announced_at": F(TM, False)}
EVENT_FIELDS = {"date": F(D), "symbol": F(T_), "event": F(T_), "value": F(N, False), "detail": F(T_, False),
                "announced_at": F(TM, False)}  # fmt: skip
NEWS_FIELDS = {"item_id": F(T_), "published_at": F(TM), "symbol": F(T_, False), "source": F(T_, False),
               "headline": F(T_), "body": F(T_, False), "received_at": F(TM, False)}  # fmt: skip
SIGNAL_FIELDS = {"date": F(D), "symbol": F(T_), "signal": F(T_), "value": F(N), "published_at": F(TM)}
MACRO_FIELDS = {"series": F(T_), "date": F(D), "value": F(N), "released_at": F(TM, False)}
SERIES_FIELDS = {"series": F(T_), "name": F(T_), "frequency": F(T_), "unit": F(T_, False), "source": F(T_, False)}
ALIASES = {"announced": "announced_at", "released": "released_at", "published": "published_at"}
#: Files a delivery must have, with at least one row each; the others may be absent or header-only.
REQUIRED = ("instruments", "prices")


@dataclass
class _Acc:
    """Accumulates tables, rejections and per-file counts while a directory is processed."""

    market: Market
    ingested_at: datetime
    tables: dict[Table, pl.DataFrame] = field(default_factory=dict)
    quarantine: list[pl.DataFrame] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, raw: RawFile, table: Table, rows: pl.DataFrame, rejected: pl.DataFrame, loaded: int) -> None:
        self.tables[table] = rows.select(schema_of(table).names)
        self.quarantine.append(to_quarantine(rejected, self.market, raw.source, self.ingested_at))
        self.files.append(FileReport(raw.source, table, raw.frame.height, loaded, rejected.height))


class VendorSource:
    """Vendor files of one market in ``directory``.

    Parameters
    ----------
    directory
        Folder with ``instruments`` and ``prices`` (required) and ``corporate_actions``, ``events``, ``news``,
        ``signals``, ``macro``, ``macro_series`` (optional), each ``.csv`` or ``.parquet``.
    market, calendar, bar_delay
        Market of every row, its calendar, and the delay after the close until a bar is known.
    qc_config
        Thresholds of the QC rules.
    ingested_at
        The ingestion instant (default: now): rows dated or stamped after it are quarantined as ``future_date``;
        also the time stamp of quarantined rows.
    """

    def __init__(
        self,
        directory: Path,
        market: Market,
        calendar: TradingCalendar,
        bar_delay: timedelta,
        qc_config: QcConfig | None = None,
        ingested_at: datetime | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.market = market
        self.calendar = calendar
        self.bar_delay = bar_delay
        self.qc_config = qc_config or QcConfig()
        self.ingested_at = ingested_at or utc_now()

    def load(self) -> Batch:
        """Read every file (a file that cannot be read aborts before anything is published), QC and time-stamp.

        Raises
        ------
        DataError
            The directory lacks ``instruments`` or ``prices`` (or has no rows in them, or has both a ``.csv`` and
            a ``.parquet`` of a table); a file cannot be parsed (names file and line); or more than
            ``max_quarantine_fraction`` of the delivery's rows were quarantined (names the share and top rules).
        """
        acc = _Acc(self.market, self.ingested_at)
        raws = self._read_all(acc)
        listings = self._instruments(acc, raws["instruments"], raws["prices"])
        symbols = listings["symbol"]
        sessions = self._session_times(raws)
        good_prices = self._prices(acc, raws["prices"], raws.get("corporate_actions"), sessions, listings)
        if "corporate_actions" in raws:
            self._actions(acc, raws["corporate_actions"], sessions, symbols, good_prices)
        if "events" in raws:
            self._events(acc, raws["events"], sessions, symbols)
        if "news" in raws:
            self._news(acc, raws["news"], sessions, symbols)
        if "signals" in raws:
            self._signals(acc, raws["signals"], sessions, symbols)
        if "macro" in raws:
            self._macro(acc, raws["macro"], sessions, raws.get("macro_series"))
        quarantine = pl.concat(acc.quarantine)
        qc.check_quarantine_share(acc.files, quarantine, self.qc_config, str(self.directory))
        return Batch(
            market=self.market,
            tables=acc.tables,
            quarantine=quarantine,
            files=tuple(acc.files),
            derive_adjusted=True,
            ingested_at=self.ingested_at,
            warnings=tuple(acc.warnings),
        )

    @property
    def latest_session(self) -> date:
        """The last session of the market closed at the ingestion instant: no bar may be dated after it."""
        today = self.ingested_at.astimezone(MARKETS[self.market].tz).date()
        frame = self.calendar.sessions_frame(self.market, today - timedelta(days=30), today)
        closed = frame.filter(pl.col("close") <= self.ingested_at)["session"]
        # Outside the calendar's range nothing is known about sessions: only the date can be judged.
        return closed.max() if closed.len() else today  # type: ignore[return-value]

    # --------------------------------------------------------------------------------------------- reading
    def _read_all(self, acc: _Acc) -> dict[str, RawFile]:
        if not self.directory.is_dir():
            raise DataError("vendor directory not found", file=str(self.directory))
        specs = {"instruments": INSTRUMENT_FIELDS, "prices": PRICE_FIELDS, "corporate_actions": ACTION_FIELDS,
                 "events": EVENT_FIELDS, "news": NEWS_FIELDS, "signals": SIGNAL_FIELDS, "macro": MACRO_FIELDS,
                 "macro_series": SERIES_FIELDS}  # fmt: skip
        out: dict[str, RawFile] = {}
        for stem, fields in specs.items():
            path = find_file(self.directory, stem)
            if path is None:
                if stem in REQUIRED:
                    raise DataError(f"{stem}.csv (or .parquet) is required", file=str(self.directory / stem))
                continue
            out[stem] = raw = read_file(path, fields, ALIASES)
            if raw.frame.is_empty():
                # A required file without rows is a broken export, not a quiet day: fail rather than publish
                # a market without bars. An optional one may legitimately be empty.
                if stem in REQUIRED:
                    raise DataError("the file has a header but no data rows", file=str(path), row=2)
                acc.warnings.append(f"{raw.source}: header only, 0 rows loaded")
                _log.warning("%s: header only, 0 rows loaded", path)
        return out

    def _session_times(self, raws: dict[str, RawFile]) -> pl.DataFrame:
        """Sessions covering every dated file: ``date, open, close, known`` (close + delay)."""
        lo, hi = date.max, date.min
        for stem in ("prices", "corporate_actions", "events", "signals", "macro"):
            if stem in raws:
                dates = parse(raws[stem].frame.select(ROW, "date"), {"date": Field(Kind.DATE, False)})[0]["date"]
                if dates.drop_nulls().len():
                    lo, hi = min(lo, dates.min()), max(hi, dates.max())  # type: ignore[type-var]
        if lo > hi:
            lo = hi = date(2000, 1, 3)
        frame = self.calendar.sessions_frame(self.market, lo - timedelta(days=14), hi + timedelta(days=14))
        delay = pl.duration(microseconds=int(self.bar_delay / timedelta(microseconds=1)))
        return frame.select(
            pl.col("session").alias("date"),
            "open",
            "close",
            (pl.col("close") + delay).alias("known"),
        )

    # --------------------------------------------------------------------------------------------- tables
    def _instruments(self, acc: _Acc, raw: RawFile, prices: RawFile) -> pl.DataFrame:
        """Publishes the instruments; returns ``symbol, listed, delisted`` of those that passed QC."""
        rows, bad = parse(raw.frame, INSTRUMENT_FIELDS)
        rows, bad2 = qc.check_instruments(rows)
        first_bar = parse(prices.frame.select(ROW, "date", "symbol"), {k: PRICE_FIELDS[k] for k in ("date", "symbol")})
        firsts = first_bar[0].group_by("symbol").agg(pl.col("date").min().alias("_first"))
        rows = rows.join(firsts, on="symbol", how="left").with_columns(
            pl.coalesce("listed", "_first", pl.lit(EPOCH.date())).alias("date"),
            pl.col("currency").fill_null(DEFAULT_CURRENCY[self.market]),
            pl.lit(self.market.value).alias("market"),
        )
        first = self._with_day_known(rows.with_columns(pl.lit(None, dtype=pl.Date).alias("delisted")), "date")
        later = self._with_day_known(rows.filter(pl.col("delisted").is_not_null()), "delisted")
        table = pl.concat([first, later.select(first.columns)]).sort("symbol", "known_at")
        rejected = pl.concat([bad, bad2])
        acc.add(raw, Table.INSTRUMENTS, table, rejected, rows.height)
        return rows.select("symbol", "listed", "delisted")

    def _with_day_known(self, frame: pl.DataFrame, column: str) -> pl.DataFrame:
        """``known_at`` = close of ``column``'s session + bar delay (end of that day, market time, if none)."""
        if frame.is_empty():
            return frame.with_columns(pl.lit(None, dtype=UTC_DATETIME).alias("known_at"))
        days = frame[column]
        sessions = self.calendar.sessions_frame(self.market, days.min(), days.max())
        delay = pl.duration(microseconds=int(self.bar_delay / timedelta(microseconds=1)))
        known = sessions.select(pl.col("session").alias(column), (pl.col("close") + delay).alias("known_at"))
        tz = str(MARKETS[self.market].tz)
        eod = (pl.col(column).cast(pl.Datetime("us")) + pl.duration(days=1, microseconds=-1)).dt.replace_time_zone(tz)
        out = frame.drop("known_at", strict=False).join(known, on=column, how="left", maintain_order="left")
        return out.with_columns(pl.coalesce("known_at", eod.dt.convert_time_zone("UTC")).cast(UTC_DATETIME))

    def _prices(
        self, acc: _Acc, raw: RawFile, actions: RawFile | None, sessions: pl.DataFrame, listings: pl.DataFrame
    ) -> pl.DataFrame:
        rows, bad = parse(raw.frame, PRICE_FIELDS)
        splits = pl.DataFrame(schema={"date": pl.Date, "symbol": pl.String, "value": pl.Float64})
        if actions is not None:
            parsed = parse(actions.frame, ACTION_FIELDS)[0]
            splits = parsed.filter(qc.plausible_split(self.qc_config)).select("date", "symbol", "value")
        rows, bad2 = qc.check_prices(rows, sessions["date"], listings, splits, self.qc_config, self.latest_session)
        # A confirmed jump is known with the bar that confirmed it, not at its own close.
        known = sessions.select(pl.col("date").alias(KNOWN_ON), pl.col("known").alias("known_at"))
        rows = rows.join(known, on=KNOWN_ON).sort("date", "symbol")
        rows = rows.with_columns(pl.lit(self.market.value).alias("market"))
        acc.add(raw, Table.PRICES_DAILY, rows, pl.concat([bad, bad2]), rows.height)
        return rows

    def _actions(
        self, acc: _Acc, raw: RawFile, sessions: pl.DataFrame, symbols: pl.Series, prices: pl.DataFrame
    ) -> None:
        rows, bad = parse(raw.frame, ACTION_FIELDS)
        closes = prices.select("date", "symbol", "close")
        rows, bad2 = qc.check_actions(rows, sessions["date"], symbols, closes, self.qc_config, self.ingested_at)
        rows = rows.join(sessions.select("date", "open"), on="date", how="left").with_columns(
            pl.coalesce("announced_at", "open").alias("announced_at"),
            pl.lit(self.market.value).alias("market"),
        )
        rows = rows.with_columns(pl.col("announced_at").alias("known_at")).sort("date", "symbol")
        acc.add(raw, Table.CORPORATE_ACTIONS, rows, pl.concat([bad, bad2]), rows.height)

    def _events(self, acc: _Acc, raw: RawFile, sessions: pl.DataFrame, symbols: pl.Series) -> None:
        rows, bad = parse(raw.frame, EVENT_FIELDS)
        rows, bad2 = qc.run_steps(
            rows,
            [
                qc.after_ingestion("announced_at", self.ingested_at),
                qc.dated_after(self.latest_session, unless="announced_at"),
                qc.not_a_session(sessions["date"]),
                qc.unknown_symbol(symbols),
                qc.duplicates(("date", "symbol", "event")),
            ],
        )
        rows = rows.join(sessions.select("date", "known"), on="date", how="left").with_columns(
            pl.coalesce("announced_at", "known").alias("known_at"), pl.lit(self.market.value).alias("market")
        )
        acc.add(raw, Table.EVENTS, rows, pl.concat([bad, bad2]), rows.height)

    def _news(self, acc: _Acc, raw: RawFile, sessions: pl.DataFrame, symbols: pl.Series) -> None:
        rows, bad = parse(raw.frame, NEWS_FIELDS)
        rows, bad2 = qc.run_steps(
            rows,
            [
                qc.after_ingestion("published_at", self.ingested_at),
                qc.after_ingestion("received_at", self.ingested_at),
                qc.unknown_symbol(symbols, nullable=True),
                qc.duplicates(("item_id", "symbol")),
            ],
        )
        closes = sessions.select("date", pl.col("known").alias("published_at")).sort("published_at")
        # Decisions are taken once the session's bars are known: an item published by then is usable that session.
        rows = (
            rows.sort("published_at")
            .join_asof(closes.rename({"date": "session"}), on="published_at", strategy="forward")
            .with_columns(
                pl.col("session").alias("date"),
                pl.max_horizontal("published_at", "received_at").alias("known_at"),
                pl.lit(self.market.value).alias("market"),
            )
        )
        rows, bad3 = qc.run_steps(rows, [qc.not_a_session(sessions["date"])])
        acc.add(raw, Table.NEWS, rows, pl.concat([bad, bad2, bad3]), rows.height)

    def _signals(self, acc: _Acc, raw: RawFile, sessions: pl.DataFrame, symbols: pl.Series) -> None:
        rows, bad = parse(raw.frame, SIGNAL_FIELDS)
        rows, bad2 = qc.run_steps(
            rows,
            [
                qc.after_ingestion("published_at", self.ingested_at),
                qc.not_a_session(sessions["date"]),
                qc.unknown_symbol(symbols),
                qc.published_before_close(sessions.select("date", "close")),
                # The same value published twice is a duplicate; a later published_at is a revision and loads.
                qc.duplicates(("date", "symbol", "signal", "published_at")),
            ],
        )
        rows = rows.with_columns(pl.col("published_at").alias("known_at"), pl.lit(self.market.value).alias("market"))
        acc.add(raw, Table.SIGNALS, rows, pl.concat([bad, bad2]), rows.height)

    def _macro(self, acc: _Acc, raw: RawFile, sessions: pl.DataFrame, series: RawFile | None) -> None:
        rows, bad = parse(raw.frame, MACRO_FIELDS)
        rows, bad2 = qc.run_steps(
            rows,
            [
                qc.after_ingestion("released_at", self.ingested_at),
                qc.dated_after(self.latest_session, unless="released_at"),
                qc.duplicates(("series", "date")),
            ],
        )
        rows = self._with_day_known(rows.with_columns(pl.col("date").alias("_d")), "_d")
        rows = rows.with_columns(
            pl.coalesce("released_at", "known_at").alias("known_at"), pl.lit(self.market.value).alias("market")
        )
        acc.add(raw, Table.MACRO_OBSERVATIONS, rows, pl.concat([bad, bad2]), rows.height)
        if series is None:
            return
        defs, bad_defs = parse(series.frame, SERIES_FIELDS)
        defs, bad_dup = qc.run_steps(defs, [qc.duplicates(("series",))])
        defs = defs.with_columns(
            pl.lit(self.market.value).alias("market"), pl.lit(EPOCH).cast(UTC_DATETIME).alias("known_at")
        )
        acc.add(series, Table.MACRO_SERIES, defs, pl.concat([bad_defs, bad_dup]), defs.height)
