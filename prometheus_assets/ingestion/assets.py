"""``<market>/<table>``: the historical tables written by one vendor ingestion per partition, with QC checks.

The vendor directory is the run config ``vendor_dir``; empty means ``<data_root>/vendor/<market>`` (where
``prometheus ingest synthetic`` and ``make demo`` leave the synthetic market's files). A partition publishes the
facts that became known inside its window; a ranged single run publishes a whole history at once.

No ``from __future__ import annotations`` here: Dagster inspects the context annotation at definition time.
"""

from datetime import timedelta
from importlib.metadata import version
from pathlib import Path

import dagster as dg

from prometheus.core.types import Market, Mode
from prometheus.data.ingest import (
    DateWindow,
    IngestReport,
    QcConfig,
    check_published,
    default_vendor_dir,
    ingest_reference,
    ingest_vendor,
    missing_sessions,
)
from prometheus.data.schema import Table
from prometheus_assets.partitions import LAKE_POOL, MarketScope
from prometheus_resources.stores import CalendarResource, HistoricalStoreResource

#: Tables one vendor ingestion writes, each an asset of the market.
INGESTED_TABLES = (
    Table.INSTRUMENTS,
    Table.PRICES_DAILY,
    Table.CORPORATE_ACTIONS,
    Table.ADJUSTMENT_FACTORS,
    Table.PRICES_ADJUSTED,
    Table.EVENTS,
    Table.NEWS,
    Table.SIGNALS,
    Table.MACRO_SERIES,
    Table.MACRO_OBSERVATIONS,
    Table.QUARANTINE,
)
QC_CHECK = "qc_quarantine"
#: Metadata key of the ingestion report (loaded rows per table, quarantined rows per rule) on ``prices_daily``.
REPORT_METADATA = "ingest_report"
FIT_CHECK = "fit_for_engines"
MISSING_CHECK = "missing_sessions"


class VendorIngestConfig(dg.Config):
    """Run config of a vendor ingestion."""

    vendor_dir: str = ""


def table_key(market: Market, table: Table) -> dg.AssetKey:
    """Asset key of ``table`` for ``market`` (``us_eq/prices_daily``)."""
    return dg.AssetKey([market.value.lower(), table.value])


#: Lake tables written by an asset of the same name (ingestion, calendar, encoders); ``markets`` is configuration
#: written by ``publish_market``, not an asset.
TABLE_ASSETS = frozenset(
    {*INGESTED_TABLES, Table.TRADING_SESSIONS, Table.INSTRUMENT_EMBEDDINGS, Table.NEWS_EMBEDDINGS, Table.PROFILES}
)


def table_dep(market: Market, table: Table) -> dg.AssetKey | None:
    """The asset key that writes ``table`` for ``market``, or None when no asset writes it."""
    return table_key(market, table) if table in TABLE_ASSETS else None


def build_ingestion_asset(scope: MarketScope, bar_delay: timedelta) -> dg.AssetsDefinition:
    """The vendor ingestion of ``scope.market``: one multi-asset over :data:`INGESTED_TABLES`."""
    market, m = scope.market, scope.prefix
    prices, adjusted = table_key(market, Table.PRICES_DAILY), table_key(market, Table.PRICES_ADJUSTED)
    specs = [
        dg.AssetSpec(
            table_key(market, t),
            group_name=scope.prefix,
            tags=scope.tags("ingestion"),
            kinds={"parquet", "python"},
            owners=["team:market-data"],
            code_version=QcConfig().config_version,
            description=f"{t.value} of {market.value}: vendor files, QC'd, with known_at (docs/ingestion.md).",
            deps=[scope.key("trading_sessions")],
        )
        for t in INGESTED_TABLES
    ]
    checks = [
        dg.AssetCheckSpec(QC_CHECK, asset=prices, description="Rows quarantined by QC, per rule."),
        dg.AssetCheckSpec(MISSING_CHECK, asset=prices, description="Sessions of listed names without a bar."),
        dg.AssetCheckSpec(
            FIT_CHECK, asset=adjusted, blocking=True, description="Bars safe for engines; few quarantined."
        ),
    ]

    @dg.multi_asset(
        name=f"{m}_vendor_ingest",
        specs=specs,
        pool=LAKE_POOL,
        check_specs=checks,
        partitions_def=scope.partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=False,
    )
    def vendor_ingest(
        context: dg.AssetExecutionContext,
        config: VendorIngestConfig,
        historical: HistoricalStoreResource,
        calendar: CalendarResource,
    ):
        tw = context.partition_time_window
        window = DateWindow(tw.start.date(), (tw.end - timedelta(days=1)).date())
        directory = Path(config.vendor_dir) if config.vendor_dir else default_vendor_dir(historical.data_root, market)
        store, cal = historical.store(), calendar.calendar()
        report = ingest_vendor(store, directory, market, bar_delay=bar_delay, calendar=cal, window=window)
        context.log.info("\n".join(report.lines()))
        for t in INGESTED_TABLES:
            rows = report.loaded.get(t.value, report.rows_quarantined if t is Table.QUARANTINE else 0)
            meta: dict[str, object] = {"dagster/row_count": rows, "ingestion_run": report.run_id}
            if t is Table.PRICES_DAILY:  # the delivery's report, once: what the CLI prints after the run
                meta[REPORT_METADATA] = dg.MetadataValue.md("\n".join(report.lines()))
            yield dg.MaterializeResult(asset_key=table_key(market, t), metadata=meta)
        yield _qc_result(report, prices)
        published = check_published(store, cal, market, window, QcConfig())
        yield dg.AssetCheckResult(
            check_name=FIT_CHECK,
            asset_key=adjusted,
            passed=published.passed,
            metadata={**published.figures, "problems": ", ".join(published.problems) or "none"},
        )
        missing = missing_sessions(store, cal, market, window)
        sample = missing.head(20)
        yield dg.AssetCheckResult(
            check_name=MISSING_CHECK,
            asset_key=prices,
            passed=missing.is_empty(),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "missing_bars": missing.height,
                "names": missing["symbol"].n_unique(),
                "sample": dg.MetadataValue.md("\n".join(f"- {s} {d}" for s, d in sample.iter_rows()) or "none"),
            },
        )

    return vendor_ingest


def _qc_result(report: IngestReport, key: dg.AssetKey) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=QC_CHECK,
        asset_key=key,
        passed=report.rows_quarantined == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_quarantined": report.rows_quarantined,
            **{f"rule_{k}": v for k, v in report.quarantined.items()},
        },
    )


def build_reference_asset(bar_delay: timedelta) -> dg.AssetsDefinition:
    """``us_eq/reference_series``: S&P 500, NASDAQ and Fama-French series from the ``arch`` package."""
    scope = MarketScope(Market.US_EQ, Mode.BACKTEST)

    @dg.asset(
        key=scope.key("reference_series"),
        group_name=scope.prefix,
        pool=LAKE_POOL,
        tags=scope.tags("ingestion"),
        kinds={"parquet", "python"},
        owners=["team:market-data"],
        code_version=f"arch-{version('arch')}",
        description="Benchmark (S&P 500, NASDAQ daily 1999-2018) and Fama-French monthly series shipped with arch.",
    )
    def reference_series(historical: HistoricalStoreResource, calendar: CalendarResource) -> dg.MaterializeResult:
        report = ingest_reference(historical.store(), bar_delay=bar_delay, calendar=calendar.calendar())
        return dg.MaterializeResult(
            metadata={**{f"rows_{k}": v for k, v in report.loaded.items()}, "rows_quarantined": report.rows_quarantined}
        )

    return reference_series
