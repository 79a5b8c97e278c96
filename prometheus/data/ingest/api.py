"""Entry points: ingest a vendor directory, the synthetic market, the ``arch`` reference data, the demo default."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from prometheus.calendar import MARKETS, TradingCalendar, get_calendar
from prometheus.core.errors import ConfigError, DataError
from prometheus.core.time import parse_instant, utc_now
from prometheus.core.types import Market
from prometheus.data.ingest.batch import DateWindow
from prometheus.data.ingest.config import QcConfig
from prometheus.data.ingest.files import SUFFIXES, find_file
from prometheus.data.ingest.publish import IngestReport, files_digest, log_failure, publish
from prometheus.data.ingest.reference import ReferenceSource
from prometheus.data.ingest.vendor import DEFAULT_CURRENCY, EPOCH, VendorSource
from prometheus.data.schema import MARKETS as MARKETS_SCHEMA
from prometheus.data.schema import UTC_DATETIME, Table
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig, generate_market, write_vendor_files

#: Folder under the data root that holds raw vendor files, one sub-folder per market (``vendor/us_eq``).
VENDOR_FOLDER = "vendor"
#: Optional file of a delivery: JSON whose ``received_at`` (ISO 8601 UTC) is when the delivery was received.
DELIVERY_MANIFEST = "delivery.json"


def default_vendor_dir(data_root: Path, market: Market) -> Path:
    """``<data_root>/vendor/<market in lower case>``: where ``ingest synthetic`` writes and Dagster reads."""
    return Path(data_root) / VENDOR_FOLDER / market.value.lower()


def delivery_dates(directory: Path) -> tuple[date, date]:
    """First and last date of the prices in a vendor delivery (what the partitions of its ingestion must cover).

    Raises
    ------
    DataError
        No prices file, or no parsable date in it.
    """
    path = find_file(Path(directory), "prices")
    if path is None:
        raise DataError(f"{directory}: no prices.csv or prices.parquet", file=str(directory))
    try:
        frame = pl.read_parquet(path, columns=["date"]) if path.suffix == ".parquet" else pl.read_csv(
            path, columns=["date"], infer_schema=False
        )  # fmt: skip
        dates = frame.select(pl.col("date").cast(pl.String).str.to_date("%Y-%m-%d", strict=False)).to_series()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{path}: cannot read the date column: {exc}", file=str(path), field="date") from None
    if dates.drop_nulls().is_empty():
        raise DataError(f"{path}: no ISO date (YYYY-MM-DD) in the date column", file=str(path), field="date")
    return dates.min(), dates.max()


def ingest_vendor(
    store: HistoricalStore,
    directory: Path,
    market: Market,
    *,
    bar_delay: timedelta,
    calendar: TradingCalendar | None = None,
    qc_config: QcConfig | None = None,
    window: DateWindow | None = None,
    ingested_at: datetime | None = None,
) -> IngestReport:
    """Parse, QC and publish the vendor files in ``directory`` (only the facts known inside ``window`` if given).

    ``ingested_at`` (default: the ``received_at`` of the delivery's ``delivery.json``, else now) is when the
    delivery became known: a value that corrects a stored one is published as a revision known then. Pass the
    original instant when replaying archived deliveries in order.

    Raises
    ------
    DataError
        A file cannot be parsed or a required file is missing; nothing is published and the failure is logged.
    StoreLockedError
        Another writer held a table for longer than the store's lock timeout; nothing was published.
    """
    directory = Path(directory)
    started = ingested_at or delivery_received_at(directory) or utc_now()
    source = VendorSource(directory, market, calendar or get_calendar(), bar_delay, qc_config, started)
    try:
        batch = source.load()
    except DataError as exc:
        log_failure(store, market, str(directory), str(exc), started)
        raise
    delivery = files_digest(p for p in directory.iterdir() if p.is_file() and p.suffix in SUFFIXES)
    span = f", window {window.start}..{window.end}" if window is not None else ""
    rerun = f"the ingestion of {directory} (market {market.value}{span})"
    return publish(store, batch, window=window, delivery=delivery, rerun=rerun, source=str(directory))


def delivery_received_at(directory: Path) -> datetime | None:
    """The ``received_at`` of the delivery's ``delivery.json`` (None without one).

    Raises
    ------
    DataError
        The manifest is not JSON, or its ``received_at`` is not an ISO 8601 instant.
    """
    path = Path(directory) / DELIVERY_MANIFEST
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("received_at")
        return None if value is None else parse_instant(str(value))
    except (ValueError, AttributeError, ConfigError) as exc:
        raise DataError(f"cannot read received_at: {exc}", file=str(path), field="received_at") from None


def ingest_reference(
    store: HistoricalStore, *, bar_delay: timedelta, calendar: TradingCalendar | None = None
) -> IngestReport:
    """Publish the S&P 500, NASDAQ and Fama-French series shipped with ``arch`` (market ``US_EQ``)."""
    return publish(store, ReferenceSource(calendar or get_calendar(), bar_delay).load())


def publish_market(store: HistoricalStore, market: Market, benchmark: str | None = None) -> None:
    """Write the ``markets`` row of ``market`` with its benchmark series (None: the equal-weighted market).

    The row is configuration, not a fact that becomes known: it is stamped at the epoch so every view sees it.
    """
    spec = MARKETS[market]
    row = {"market": market.value, "name": spec.description, "calendar": spec.calendar_code, "tz": str(spec.tz),
           "currency": DEFAULT_CURRENCY[market], "benchmark": benchmark, "known_at": EPOCH}  # fmt: skip
    frame = pl.DataFrame([row], schema=MARKETS_SCHEMA.polars_schema).with_columns(pl.col("known_at").cast(UTC_DATETIME))
    store.merge(Table.MARKETS, frame)


def ingest_synthetic(
    store: HistoricalStore,
    data_root: Path,
    config: SyntheticConfig,
    *,
    bar_delay: timedelta,
    market: Market = Market.US_EQ,
) -> IngestReport:
    """Generate the synthetic market of ``market``, write its vendor files under ``<data_root>/vendor/<market>``
    (kept as the raw source, with ``truth/``) and ingest them through the vendor path."""
    directory = write_synthetic_delivery(store, data_root, config, market)
    return ingest_vendor(store, directory, market, bar_delay=bar_delay)


def write_synthetic_delivery(
    store: HistoricalStore, data_root: Path, config: SyntheticConfig, market: Market = Market.US_EQ
) -> Path:
    """Generate the synthetic market of ``market`` and write it as a vendor delivery under
    ``<data_root>/vendor/<market>`` (with ``truth/``), with its ``markets`` row; returns the folder, ready for
    :func:`ingest_vendor`."""
    directory = default_vendor_dir(data_root, market)
    write_vendor_files(generate_market(config, market), directory)
    publish_market(store, market)
    return directory
