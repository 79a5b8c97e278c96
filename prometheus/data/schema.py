"""Declared schemas of the historical tables (one per table: columns, dtypes, meanings, keys, partitioning).

Point-in-time rule: a fact row carries ``date`` (the session date it is about, in the market's time zone) and
``known_at`` (UTC instant it became known). A correction is a new row with the same natural key and a later
``known_at``, so keys of fact tables include ``known_at``; a view as of ``t`` keeps ``known_at <= t``. A correction
delivered later is known when it was ingested (``prometheus.data.revisions``), never at the original's ``known_at``.
Every table carries ``market``: it is the first partition level and gives ``date`` its time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import polars as pl

#: The only datetime dtype stored: microseconds, aware UTC.
UTC_DATETIME = pl.Datetime("us", "UTC")


class Table(StrEnum):
    """The historical tables (their lake folder and DuckDB view names)."""

    MARKETS = "markets"
    INSTRUMENTS = "instruments"
    TRADING_SESSIONS = "trading_sessions"
    PRICES_DAILY = "prices_daily"
    CORPORATE_ACTIONS = "corporate_actions"
    ADJUSTMENT_FACTORS = "adjustment_factors"
    PRICES_ADJUSTED = "prices_adjusted"
    EVENTS = "events"
    NEWS = "news"
    SIGNALS = "signals"
    MACRO_SERIES = "macro_series"
    MACRO_OBSERVATIONS = "macro_observations"
    INTRADAY_BARS = "intraday_bars"
    QUARANTINE = "quarantine"
    INGESTION_LOG = "ingestion_log"
    ENCODER_MODELS = "encoder_models"
    INSTRUMENT_EMBEDDINGS = "instrument_embeddings"
    NEWS_EMBEDDINGS = "news_embeddings"
    NEWS_AGGREGATES = "news_aggregates"
    PROFILES = "profiles"


class Partitioning(StrEnum):
    """How a table's files are laid out under ``<lake>/<table>/`` (hive style)."""

    #: ``market=X/part.parquet``: small reference tables.
    MARKET = "market"
    #: ``market=X/year=YYYY/part.parquet``: daily facts (~252 sessions per file).
    MARKET_YEAR = "market_year"
    #: ``market=X/year=YYYY/month=MM/part.parquet``: dense facts (news, intraday bars).
    MARKET_MONTH = "market_month"


class CorporateActionKind(StrEnum):
    """Values of ``corporate_actions.action``."""

    SPLIT = "split"
    DIVIDEND = "dividend"


class IngestionStatus(StrEnum):
    """Values of ``ingestion_log.status``."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: The publication started and did not finish (the writer died): re-run the ingestion named in the message.
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class Column:
    """One column of a table: name, polars dtype, one-line meaning, whether nulls are allowed."""

    name: str
    dtype: pl.DataType
    meaning: str
    nullable: bool = False


@dataclass(frozen=True)
class TableSchema:
    """A table's declared schema.

    Attributes
    ----------
    key
        Columns that identify a row (unique within the table).
    partitioning
        File layout of the table.
    period_column
        Column whose year (and month) chooses the partition; None for ``Partitioning.MARKET``.
    point_in_time
        Whether rows carry ``known_at`` and are served through point-in-time views.
    """

    table: Table
    meaning: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partitioning: Partitioning
    period_column: str | None = None
    point_in_time: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in declared order."""
        return tuple(c.name for c in self.columns)

    @property
    def dtypes(self) -> dict[str, pl.DataType]:
        """Column name to polars dtype."""
        return {c.name: c.dtype for c in self.columns}

    @property
    def polars_schema(self) -> pl.Schema:
        """The schema as a ``polars.Schema`` (for empty frames)."""
        return pl.Schema(self.dtypes)

    @property
    def revision_key(self) -> tuple[str, ...]:
        """The key without ``known_at``: rows sharing it are revisions of one fact (see :func:`revision_key`)."""
        return revision_key(self.key)

    @property
    def latest_view(self) -> str | None:
        """Name of the SQL view holding the latest revision per key; None for tables that are not point in time."""
        return f"{self.table.value}{LATEST_SUFFIX}" if self.point_in_time else None

    def column(self, name: str) -> Column:
        """The column called ``name`` (KeyError when unknown)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def empty(self) -> pl.DataFrame:
        """An empty frame with this schema."""
        return pl.DataFrame(schema=self.polars_schema)


#: Suffix of the SQL views that keep only the latest revision of each key (``prices_adjusted_latest``).
LATEST_SUFFIX = "_latest"


def revision_key(key: Sequence[str]) -> tuple[str, ...]:
    """Columns identifying one fact across its revisions: ``key`` without ``known_at``.

    The latest revision of a fact is its row with the greatest ``known_at``; the TimeMachine and the SQL
    ``<table>_latest`` views both resolve revisions with this definition.
    """
    return tuple(k for k in key if k != "known_at")


# Columns shared by many tables; a factory keeps meanings consistent.
def _market() -> Column:
    return Column("market", pl.String(), "Market code (prometheus.core.types.Market); the first partition level.")


def _date(meaning: str = "Session date the row is about, in the market's time zone.", nullable: bool = False) -> Column:
    return Column("date", pl.Date(), meaning, nullable)


def _symbol(nullable: bool = False) -> Column:
    return Column("symbol", pl.String(), "Instrument symbol, unique within the market.", nullable)


def _known_at(meaning: str = "UTC instant the row became known (point-in-time filter).") -> Column:
    return Column("known_at", UTC_DATETIME, meaning)


def _ohlcv(adjusted: bool) -> tuple[Column, ...]:
    kind = "split-adjusted" if adjusted else "raw, unadjusted"
    return (
        Column("open", pl.Float64(), f"Opening price ({kind})."),
        Column("high", pl.Float64(), f"Highest price ({kind})."),
        Column("low", pl.Float64(), f"Lowest price ({kind})."),
        Column("close", pl.Float64(), f"Closing price ({kind})."),
        Column("volume", pl.Float64(), f"Traded volume in shares or contracts ({kind})."),
    )


MARKETS = TableSchema(
    Table.MARKETS,
    "Markets the platform trades: calendar, time zone, currency and benchmark.",
    (
        _market(),
        Column("name", pl.String(), "Human-readable name."),
        Column("calendar", pl.String(), "exchange_calendars calendar code (XNYS, XTKS, ...)."),
        Column("tz", pl.String(), "IANA time zone of the market's session dates."),
        Column("currency", pl.String(), "ISO 4217 currency of prices."),
        Column("benchmark", pl.String(), "Benchmark series in macro_observations, if any.", nullable=True),
        _known_at(),
    ),
    key=("market", "known_at"),
    partitioning=Partitioning.MARKET,
)

INSTRUMENTS = TableSchema(
    Table.INSTRUMENTS,
    "Instrument reference data, versioned: a change of name or sector is a new row from its effective date.",
    (
        _market(),
        _symbol(),
        _date("Session date from which this version of the record applies."),
        Column("name", pl.String(), "Instrument name."),
        Column("sector", pl.String(), "Sector classification.", nullable=True),
        Column("exchange", pl.String(), "Listing exchange (MIC or vendor code).", nullable=True),
        Column("currency", pl.String(), "ISO 4217 trading currency."),
        Column("listed", pl.Date(), "First session the instrument trades.", nullable=True),
        Column("delisted", pl.Date(), "Last session the instrument trades; null while listed.", nullable=True),
        _known_at(),
    ),
    key=("market", "symbol", "date", "known_at"),
    partitioning=Partitioning.MARKET,
)

TRADING_SESSIONS = TableSchema(
    Table.TRADING_SESSIONS,
    "Sessions of each market with their open, close and break instants (from the TradingCalendar).",
    (
        _market(),
        _date("The session (TradingCalendar `session`), in the market's time zone."),
        Column("open", UTC_DATETIME, "Session open (UTC)."),
        Column("close", UTC_DATETIME, "Session close (UTC)."),
        Column("break_start", UTC_DATETIME, "Start of the midday break (UTC); null without one.", True),
        Column("break_end", UTC_DATETIME, "End of the midday break (UTC); null without one.", True),
        _known_at("UTC instant the schedule was published (written)."),
    ),
    key=("market", "date", "known_at"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="date",
)

PRICES_DAILY = TableSchema(
    Table.PRICES_DAILY,
    "Daily bars exactly as delivered by the source (unadjusted).",
    (
        _market(),
        _date(),
        _symbol(),
        *_ohlcv(adjusted=False),
        _known_at("Close of `date` (UTC) + bar delay; a correction: when its delivery was ingested."),
    ),
    key=("market", "date", "symbol", "known_at"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="date",
)

CORPORATE_ACTIONS = TableSchema(
    Table.CORPORATE_ACTIONS,
    "Splits and dividends; `date` is the ex-date.",
    (
        _market(),
        _date("Ex-date: first session that trades without the split/dividend."),
        _symbol(),
        Column("action", pl.String(), "CorporateActionKind: split or dividend."),
        Column("value", pl.Float64(), "split: ratio new/old shares (2.0 = 2-for-1); dividend: cash per share."),
        Column("announced_at", UTC_DATETIME, "UTC instant the action was announced."),
        _known_at("UTC instant the action entered the data (>= announced_at)."),
    ),
    key=("market", "date", "symbol", "action", "known_at"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="date",
)

ADJUSTMENT_FACTORS = TableSchema(
    Table.ADJUSTMENT_FACTORS,
    "Per-action adjustment factors derived from corporate_actions, applied to rows dated before `date`.",
    (
        _market(),
        _date("Ex-date of the action; factors apply to raw rows dated strictly before it."),
        _symbol(),
        Column("split_factor", pl.Float64(), "Multiply earlier prices by this (1/ratio); divide volumes by it."),
        Column("dividend_factor", pl.Float64(), "Total-return factor: 1 - dividend / previous raw close."),
        _known_at("When the actions of the ex-date and the previous close used were all known."),
    ),
    key=("market", "date", "symbol", "known_at"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="date",
)

PRICES_ADJUSTED = TableSchema(
    Table.PRICES_ADJUSTED,
    "Split-adjusted bars and total returns from raw prices plus the actions known at `known_at`.",
    (
        _market(),
        _date(),
        _symbol(),
        *_ohlcv(adjusted=True),
        Column(
            "total_return",
            pl.Float64(),
            "Session return incl. dividends (close-to-close); null first day.",
            True,
        ),
        _known_at("max(bar known_at, known_at of every action used); a later action gives a new version."),
    ),
    key=("market", "date", "symbol", "known_at"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="date",
)

EVENTS = TableSchema(
    Table.EVENTS,
    "Scheduled and unscheduled company events (earnings and similar).",
    (
        _market(),
        _date("Session the event belongs to (after-close events belong to the next session)."),
        _symbol(),
        Column("event", pl.String(), "Event kind (earnings, guidance, ...)."),
        Column("value", pl.Float64(), "Numeric payload (e.g. EPS surprise), if any.", nullable=True),
        Column("detail", pl.String(), "Free-text payload, if any.", nullable=True),
        _known_at("UTC instant the event was announced."),
    ),
    key=("market", "date", "symbol", "event", "known_at"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="date",
)

NEWS = TableSchema(
    Table.NEWS,
    "News items; one row per item and symbol it mentions (symbol null for market-wide items).",
    (
        _market(),
        _date("Session whose decision may first use the item."),
        Column("item_id", pl.String(), "Source identifier of the item."),
        Column("published_at", UTC_DATETIME, "UTC publication instant."),
        _symbol(nullable=True),
        Column("headline", pl.String(), "Headline text."),
        Column("body", pl.String(), "Body text, if licensed.", nullable=True),
        Column("source", pl.String(), "Publisher or feed.", nullable=True),
        _known_at("UTC instant the item was received (>= published_at)."),
    ),
    key=("market", "item_id", "symbol", "known_at"),
    partitioning=Partitioning.MARKET_MONTH,
    period_column="date",
)

SIGNALS = TableSchema(
    Table.SIGNALS,
    "Vendor signals (alpha and alternative-data scores) per instrument and session; a revision is a new row.",
    (
        _market(),
        _date("Session the value belongs to (computed from that session's close)."),
        _symbol(),
        Column("signal", pl.String(), "Signal name as the vendor delivers it (e.g. alpha_feature)."),
        Column("value", pl.Float64(), "Signal value (finite)."),
        _known_at("UTC instant the vendor published the value (published_at); a correction: when ingested."),
    ),
    key=("market", "date", "symbol", "signal", "known_at"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="date",
)

MACRO_SERIES = TableSchema(
    Table.MACRO_SERIES,
    "Macro and benchmark series definitions; `market` is the market whose calendar dates the series.",
    (
        _market(),
        Column("series", pl.String(), "Series code (e.g. SP500, FF_MKT_RF)."),
        Column("name", pl.String(), "Human-readable name."),
        Column("frequency", pl.String(), "daily, monthly, ..."),
        Column("unit", pl.String(), "Unit (index points, percent, ...).", nullable=True),
        Column("source", pl.String(), "Where the series comes from.", nullable=True),
        _known_at(),
    ),
    key=("market", "series", "known_at"),
    partitioning=Partitioning.MARKET,
)

MACRO_OBSERVATIONS = TableSchema(
    Table.MACRO_OBSERVATIONS,
    "Observations of macro and benchmark series (revisions are new rows with a later known_at).",
    (
        _market(),
        Column("series", pl.String(), "Series code (macro_series.series)."),
        _date("Date the observation is about (period end for monthly series)."),
        Column("value", pl.Float64(), "Observed value."),
        _known_at("UTC instant the value was released."),
    ),
    key=("market", "series", "date", "known_at"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="date",
)

INTRADAY_BARS = TableSchema(
    Table.INTRADAY_BARS,
    "Intraday bars (Phase 2: schema only).",
    (
        _market(),
        _date(),
        _symbol(),
        Column("ts", UTC_DATETIME, "Bar start (UTC)."),
        Column("bar_seconds", pl.Int64(), "Bar length in seconds."),
        *_ohlcv(adjusted=False),
        _known_at("Bar end (UTC) + bar delay."),
    ),
    key=("market", "date", "symbol", "ts", "bar_seconds", "known_at"),
    partitioning=Partitioning.MARKET_MONTH,
    period_column="date",
)

QUARANTINE = TableSchema(
    Table.QUARANTINE,
    "Rows rejected by QC, with the delivery, source file, row, field, value and rule.",
    (
        _market(),
        Column("delivery", pl.String(), "Content hash of the delivery (SHA-256 of its files, 16 hex digits)."),
        Column("source", pl.String(), "Source file (or feed) the row came from."),
        Column("row", pl.Int64(), "Row number in the source (1 = first data row)."),
        Column("field", pl.String(), "Offending field."),
        Column("value", pl.String(), "Offending value as text (null when missing).", nullable=True),
        Column("reason", pl.String(), "Why the row was rejected, for people."),
        Column("rule", pl.String(), "Code of the QC rule that rejected it."),
        _date("Session date of the row, when it could be parsed.", nullable=True),
        _symbol(nullable=True),
        Column("ingested_at", UTC_DATETIME, "UTC instant of the ingestion that rejected the row."),
    ),
    key=("market", "delivery", "source", "row", "field", "rule"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="ingested_at",
    point_in_time=False,
)

INGESTION_LOG = TableSchema(
    Table.INGESTION_LOG,
    "One row per (ingestion run, source, table): counts and outcome.",
    (
        _market(),
        Column("run_id", pl.String(), "Identifier of the ingestion run."),
        Column("source", pl.String(), "Source file or feed."),
        Column("table_name", pl.String(), "Historical table written; empty on the row of the run as a whole."),
        Column("rows_read", pl.Int64(), "Rows read from the source."),
        Column("rows_loaded", pl.Int64(), "Rows published to the table."),
        Column("rows_quarantined", pl.Int64(), "Rows sent to quarantine."),
        Column("started_at", UTC_DATETIME, "UTC start of the run."),
        Column("finished_at", UTC_DATETIME, "UTC end of the run."),
        Column("status", pl.String(), "IngestionStatus: succeeded, failed or incomplete."),
        Column("message", pl.String(), "Summary, error, or what to re-run when incomplete.", nullable=True),
    ),
    key=("market", "run_id", "source", "table_name"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="started_at",
    point_in_time=False,
)

#: Embedding vectors: variable length so a config may change the dimension without a schema change.
EMBEDDING = pl.List(pl.Float32())


def _model_version(meaning: str) -> Column:
    return Column("model_version", pl.String(), meaning)


ENCODER_MODELS = TableSchema(
    Table.ENCODER_MODELS,
    "Trained encoder models, one per encoder, config and retraining period, with their artifact and lineage.",
    (
        _market(),
        _date("First day of the retraining period the model serves (its partition)."),
        Column("encoder", pl.String(), "EncoderKind: numeric or text."),
        Column("config_version", pl.String(), "Content hash of the encoder config (stable across retrains)."),
        _model_version("Content hash of the trained weights, config and training window."),
        Column("period_end", pl.Date(), "Last day of the retraining period the model serves."),
        Column("train_start", pl.Date(), "First session of the training window.", nullable=True),
        Column("train_end", pl.Date(), "Last session of the training window (before the period).", nullable=True),
        Column("seed", pl.Int64(), "Seed of the training run."),
        Column("artifact", pl.String(), "Artifact folder, relative to the data root."),
        Column("sha256", pl.String(), "SHA-256 of the weights file."),
        Column("train_loss", pl.Float64(), "Final training loss.", nullable=True),
        Column("alignment_residual", pl.Float64(), "Relative Procrustes residual against the previous model.", True),
        _known_at("Decision time of train_end: the model exists once its training data does."),
    ),
    key=("market", "encoder", "config_version", "date", "known_at"),
    partitioning=Partitioning.MARKET,
    point_in_time=True,
)

INSTRUMENT_EMBEDDINGS = TableSchema(
    Table.INSTRUMENT_EMBEDDINGS,
    "Numeric encoder embedding per instrument and session (aligned across retrains), keyed by encoder config.",
    (
        _market(),
        _date(),
        _symbol(),
        Column("config_version", pl.String(), "Encoder config hash: selects one aligned embedding series."),
        _model_version("Version of the model partition in force for the session."),
        Column("embedding", EMBEDDING, "Embedding vector (float32)."),
        _known_at("Decision time of `date` (the bar's known_at; the model was known before)."),
    ),
    key=("market", "date", "symbol", "config_version", "known_at"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="date",
)

NEWS_EMBEDDINGS = TableSchema(
    Table.NEWS_EMBEDDINGS,
    "Text encoder embedding per news item, computed once per item and model.",
    (
        _market(),
        _date("Session whose decision may first use the item (news.date)."),
        Column("item_id", pl.String(), "news.item_id."),
        _model_version("Text model version (model name and weights hash)."),
        Column("published_at", UTC_DATETIME, "UTC publication instant of the item."),
        Column("embedding", EMBEDDING, "L2-normalised sentence embedding of the headline (float32)."),
        _known_at("known_at of the news item (>= published_at)."),
    ),
    key=("market", "item_id", "model_version", "known_at"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="date",
)

NEWS_AGGREGATES = TableSchema(
    Table.NEWS_AGGREGATES,
    "Per instrument and session: mean embedding of the items published before the decision time in a lookback.",
    (
        _market(),
        _date(),
        _symbol(),
        _model_version("Text model version of the item embeddings."),
        Column("n_items", pl.Int64(), "Items averaged."),
        Column("embedding", EMBEDDING, "L2-normalised mean of the item embeddings (float32)."),
        _known_at("Decision time of `date`."),
    ),
    key=("market", "date", "symbol", "model_version", "known_at"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="date",
)

PROFILES = TableSchema(
    Table.PROFILES,
    "Point-in-time profile per instrument and session: sector, risk, liquidity, embedding cluster, events.",
    (
        _market(),
        _date(),
        _symbol(),
        Column("config_version", pl.String(), "Profile config hash folded with the embedding config version."),
        Column("sector", pl.String(), "Sector of the instrument record in force.", nullable=True),
        Column("beta", pl.Float64(), "Rolling beta to the market series.", nullable=True),
        Column("vol", pl.Float64(), "Rolling annualised volatility of total returns.", nullable=True),
        Column("adv", pl.Float64(), "Rolling mean dollar volume (close x volume).", nullable=True),
        Column("amihud", pl.Float64(), "Rolling mean |return| per million dollars traded.", nullable=True),
        Column("embedding_centroid", EMBEDDING, "Rolling mean of the instrument's embeddings.", nullable=True),
        Column("cluster", pl.Int64(), "Cluster of the centroid (labels matched across periods).", nullable=True),
        Column("sessions_since_earnings", pl.Int64(), "Sessions since the last earnings known.", nullable=True),
        Column("last_surprise", pl.Float64(), "Surprise of the last earnings known.", nullable=True),
        _known_at("Decision time of `date`."),
    ),
    key=("market", "date", "symbol", "config_version", "known_at"),
    partitioning=Partitioning.MARKET_YEAR,
    period_column="date",
)

#: Every historical table's schema, by table.
SCHEMAS: Mapping[Table, TableSchema] = MappingProxyType(
    {
        s.table: s
        for s in (
            MARKETS,
            INSTRUMENTS,
            TRADING_SESSIONS,
            PRICES_DAILY,
            CORPORATE_ACTIONS,
            ADJUSTMENT_FACTORS,
            PRICES_ADJUSTED,
            EVENTS,
            NEWS,
            SIGNALS,
            MACRO_SERIES,
            MACRO_OBSERVATIONS,
            INTRADAY_BARS,
            QUARANTINE,
            INGESTION_LOG,
            ENCODER_MODELS,
            INSTRUMENT_EMBEDDINGS,
            NEWS_EMBEDDINGS,
            NEWS_AGGREGATES,
            PROFILES,
        )
    }
)


def schema_of(table: Table | str) -> TableSchema:
    """The declared schema of ``table``.

    Raises
    ------
    KeyError
        ``table`` is not a historical table (the message lists the known ones).
    """
    try:
        return SCHEMAS[Table(table)]
    except ValueError:
        known = ", ".join(t.value for t in Table)
        raise KeyError(f"unknown historical table {table!r}; known tables: {known}") from None


def schema_markdown() -> str:
    """The tables section of ``docs/schema.md``, generated from the schemas (a test keeps the two in sync)."""
    layout = {
        Partitioning.MARKET: "`market=M/part.parquet`",
        Partitioning.MARKET_YEAR: "`market=M/year=YYYY/part.parquet`",
        Partitioning.MARKET_MONTH: "`market=M/year=YYYY/month=MM/part.parquet`",
    }
    bookkeeping = ", ".join(f"`{s.table.value}`" for s in SCHEMAS.values() if not s.point_in_time)
    lines: list[str] = [
        "Each table is a view of the same name in the SQL catalog (`HistoricalStore.catalog()` and `query()`,",
        "`prometheus sql`) holding every revision of every row. Each point-in-time table also has a",
        f"`<table>{LATEST_SUFFIX}` view holding only the latest revision of each fact: per revision key (the table",
        "key without `known_at`), the row with the greatest `known_at`; these are the rows `TimeMachine.table()`",
        "returns (`prices_adjusted_latest` holds the adjusted bars as last revised).",
        "",
        "`prometheus sql --as-of T` (`query(sql, as_of=T)`) serves the whole catalog as known at `T`: every",
        f"point-in-time table keeps only its rows with `known_at <= T`, and its `{LATEST_SUFFIX}` view is computed",
        "from those rows, so it holds what `TimeMachine(store, as_of=T)` returns. `T` is an ISO 8601 timestamp,",
        "UTC when it has no offset (`2024-01-03T21:00:00`, `2024-01-03T21:00Z`, `2024-01-03T16:00:00-05:00`),",
        "or a date, meaning 00:00 UTC that day; anything else is an error.",
        f"The bookkeeping tables ({bookkeeping}) have no `known_at`: they have no `{LATEST_SUFFIX}` view",
        "and are the same with or without `--as-of`. For example:",
        "",
        "```",
        "prometheus sql --as-of 2024-01-05T21:00Z \\",
        f"    \"SELECT date, close FROM prices_adjusted{LATEST_SUFFIX} WHERE symbol = 'AAPL' ORDER BY date\"",
        "```",
        "",
        "The catalog is read-only by construction, not by inspecting the SQL text: its connection reads the lake's",
        "files and nothing else (no other host file, no network, no extension install or load, settings locked),",
        "and `query()` runs exactly one statement that DuckDB's parser reads as a query; see [Reads](#reads).",
        "",
    ]
    for s in SCHEMAS.values():
        period = f" (period from `{s.period_column}`)" if s.period_column else ""
        pit = "point in time (`known_at`)" if s.point_in_time else "bookkeeping (not point in time)"
        if s.latest_view:
            per = ", ".join(f"`{k}`" for k in s.revision_key)
            views = f"`{s.table.value}` (every revision), `{s.latest_view}` (latest revision per {per})"
        else:
            views = f"`{s.table.value}` (unchanged by `--as-of`)"
        lines += [
            f"### {s.table.value}",
            "",
            s.meaning,
            "",
            f"- Key: {', '.join(f'`{k}`' for k in s.key)}",
            f"- Partitioning: {layout[s.partitioning]}{period}",
            f"- Kind: {pit}",
            f"- SQL views: {views}",
            "",
            "| column | dtype | null | meaning |",
            "|---|---|---|---|",
            *(f"| `{c.name}` | {_label(c.dtype)} | {'yes' if c.nullable else 'no'} | {c.meaning} |" for c in s.columns),
            "",
        ]
    return "\n".join(lines)


def _label(dtype: pl.DataType) -> str:
    return "Datetime(us, UTC)" if dtype == UTC_DATETIME else str(dtype)
