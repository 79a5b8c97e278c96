"""Ingestion assets: the historical tables per market from vendor files, the arch reference series, QC checks."""

from prometheus_assets.ingestion.assets import (
    FIT_CHECK,
    INGESTED_TABLES,
    MISSING_CHECK,
    QC_CHECK,
    REPORT_METADATA,
    VendorIngestConfig,
    build_ingestion_asset,
    build_reference_asset,
    table_dep,
    table_key,
)

__all__ = [
    "FIT_CHECK",
    "INGESTED_TABLES",
    "MISSING_CHECK",
    "QC_CHECK",
    "REPORT_METADATA",
    "VendorIngestConfig",
    "build_ingestion_asset",
    "build_reference_asset",
    "table_dep",
    "table_key",
]
