"""Ingestion: sources (vendor files, the synthetic market, ``arch`` reference data), QC with quarantine,
corporate-action adjustment and publishing into the historical store (see ``docs/ingestion.md``)."""

from prometheus.data.ingest.adjust import adjusted_as_of, adjusted_revisions, adjustment_factors
from prometheus.data.ingest.api import (
    DELIVERY_MANIFEST,
    VENDOR_FOLDER,
    default_vendor_dir,
    delivery_dates,
    delivery_received_at,
    ingest_reference,
    ingest_synthetic,
    ingest_vendor,
    publish_market,
    write_synthetic_delivery,
)
from prometheus.data.ingest.batch import Batch, DateWindow, FileReport, Source
from prometheus.data.ingest.checks import PublishedCheck, check_published, missing_sessions
from prometheus.data.ingest.config import QcConfig
from prometheus.data.ingest.publish import IngestReport, incomplete_runs, publish
from prometheus.data.ingest.reference import ReferenceSource
from prometheus.data.ingest.rules import QcRule, counts_by_rule
from prometheus.data.ingest.vendor import VendorSource

__all__ = [
    "DELIVERY_MANIFEST",
    "VENDOR_FOLDER",
    "Batch",
    "DateWindow",
    "FileReport",
    "IngestReport",
    "PublishedCheck",
    "QcConfig",
    "QcRule",
    "ReferenceSource",
    "Source",
    "VendorSource",
    "adjusted_as_of",
    "adjusted_revisions",
    "adjustment_factors",
    "check_published",
    "counts_by_rule",
    "default_vendor_dir",
    "delivery_dates",
    "delivery_received_at",
    "incomplete_runs",
    "ingest_reference",
    "ingest_synthetic",
    "ingest_vendor",
    "missing_sessions",
    "publish",
    "publish_market",
    "write_synthetic_delivery",
]
