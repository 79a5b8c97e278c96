"""Reporting: headline metrics, charts and self-contained HTML tear sheets of backtest results (layer above
backtest; reads ``backtest_daily`` frames, never Dagster), and the operator dashboard's reads of the runtime store
(:mod:`prometheus.reporting.dashboard_data`, the one module here that reads a store). matplotlib and empyrical are
imported only when a chart is drawn or a metric computed, so importing this package stays cheap."""

from prometheus.reporting.metrics import (
    ALL,
    METRIC_LABELS,
    METRIC_NAMES,
    SERIES,
    TRADING_DAYS,
    UNKNOWN,
    MetricsReport,
    SeriesMetrics,
    compute_metrics,
    series_metrics,
)
from prometheus.reporting.plots import (
    comparison_equity_png,
    costs_png,
    drawdown_png,
    equity_png,
    exposures_png,
    ic_by_regime_png,
    return_difference_png,
    rolling_sharpe_png,
)
from prometheus.reporting.tearsheet import (
    Comparison,
    TearSheet,
    format_metric,
    markdown_summary,
    write_comparison,
    write_tear_sheet,
)

__all__ = [
    "ALL",
    "METRIC_LABELS",
    "METRIC_NAMES",
    "SERIES",
    "TRADING_DAYS",
    "UNKNOWN",
    "Comparison",
    "MetricsReport",
    "SeriesMetrics",
    "TearSheet",
    "comparison_equity_png",
    "compute_metrics",
    "costs_png",
    "drawdown_png",
    "equity_png",
    "exposures_png",
    "format_metric",
    "ic_by_regime_png",
    "markdown_summary",
    "return_difference_png",
    "rolling_sharpe_png",
    "series_metrics",
    "write_comparison",
    "write_tear_sheet",
]
