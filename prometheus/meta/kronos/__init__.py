"""Kronos, the meta-engine: slices decision outcomes by engine, config, regime, market and horizon, detects
degraded configs and (for a human to approve) proposes config changes."""

from prometheus.meta.kronos.detect import CusumAlarm, lower_cusum, non_overlapping, t_stat, vol_ratio
from prometheus.meta.kronos.report import (
    Finding,
    KronosConfig,
    KronosReport,
    build_report,
    find,
    list_reports,
    performance_slices,
    regime_labels,
    report_fingerprint,
    save_report,
)

__all__ = [
    "CusumAlarm",
    "Finding",
    "KronosConfig",
    "KronosReport",
    "build_report",
    "find",
    "list_reports",
    "lower_cusum",
    "non_overlapping",
    "performance_slices",
    "regime_labels",
    "report_fingerprint",
    "save_report",
    "t_stat",
    "vol_ratio",
]
