"""Self-contained HTML tear sheets: one backtest, or two experiments side by side.

One file per report with the charts embedded as base64 PNG data URIs and inline CSS, so it opens anywhere (a
browser without network, an e-mail attachment, the Dagster UI's file link) and never changes after it is written.
Files are written atomically (a temporary name in the same folder, then ``os.replace``): a reader sees the old
report or the new one, never half of one, and a failed render leaves the previous report in place.
"""

from __future__ import annotations

import base64
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

import polars as pl

from prometheus.reporting import plots
from prometheus.reporting.metrics import (
    ALL,
    METRIC_LABELS,
    METRIC_NAMES,
    PERCENT_METRICS,
    SERIES_LABELS,
    MetricsReport,
    compute_metrics,
    regime_session_counts,
)

#: Metrics of the headline tables and of the markdown summary, in order.
HEADLINE_METRICS: tuple[str, ...] = (
    "annual_return",
    "annual_volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "hit_rate",
    "annual_turnover",
    "cost_drag",
    "mean_ic",
    "ic_tstat",
)
#: Metrics of the per-regime tables (the headline ones plus session counts).
REGIME_METRICS: tuple[str, ...] = ("sessions", *HEADLINE_METRICS)

#: One-line definition of each metric, printed under the tables.
DEFINITIONS: dict[str, str] = {
    "sessions": "sessions with a return in the span",
    "annual_return": "geometric annual return, (prod(1 + r))^(252/n) - 1 (empyrical.annual_return)",
    "annual_volatility": "std of daily returns x sqrt(252) (empyrical.annual_volatility)",
    "sharpe": "mean / std of daily returns x sqrt(252), risk-free rate 0 (empyrical.sharpe_ratio)",
    "sortino": "annualised mean over annualised downside deviation below 0 (empyrical.sortino_ratio)",
    "max_drawdown": "worst fall from a running peak of the compounded returns (empyrical.max_drawdown)",
    "calmar": "annual return / |max drawdown| (empyrical.calmar_ratio)",
    "hit_rate": "share of sessions with a positive return",
    "avg_turnover": "mean of traded notional / equity per session",
    "annual_turnover": "average daily turnover x 252",
    "cost_drag": "costs per year (commission + fees + spread + impact + borrow) / average equity",
    "mean_ic": "mean daily rank IC of the assessment's scores vs realised forward returns",
    "ic_tstat": "mean IC / (std IC / sqrt(number of IC sessions))",
    "ic_sessions": "sessions with an IC value",
}

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1040px;
       color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.8em; }
.meta { color: #666; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #444; }
img { max-width: 100%; display: block; margin: 0.4em 0 1em; }
dl { font-size: 0.85em; color: #444; } dt { font-weight: bold; float: left; clear: left; width: 11em; }
dd { margin-left: 12em; }
"""


@dataclass(frozen=True)
class TearSheet:
    """A written tear sheet: where it is and the metrics it shows."""

    path: Path
    metrics: MetricsReport


@dataclass(frozen=True)
class Comparison:
    """A written comparison of two experiments: where it is, their names and each one's metrics."""

    path: Path
    names: tuple[str, str]
    metrics: tuple[MetricsReport, MetricsReport]


def write_tear_sheet(
    daily: pl.DataFrame,
    path: str | os.PathLike[str],
    *,
    title: str,
    ic: pl.DataFrame | None = None,
    config_versions: Mapping[str, str] | None = None,
) -> TearSheet:
    """Write the tear sheet of one backtest (``backtest_daily`` columns, one experiment) to ``path`` atomically.

    ``ic`` (``session``, ``ic``[, ``regime_label``]) adds the IC metrics and the IC-by-regime chart;
    ``config_versions`` (component -> version) is printed so the report names what produced it.
    """
    metrics = compute_metrics(daily, ic)
    target = Path(path)
    _write_atomic(target, lambda: render_tear_sheet(daily, metrics, title=title, config_versions=config_versions))
    return TearSheet(path=target, metrics=metrics)


def write_comparison(
    a_daily: pl.DataFrame,
    b_daily: pl.DataFrame,
    path: str | os.PathLike[str],
    *,
    names: tuple[str, str] = ("a", "b"),
    title: str | None = None,
    a_ic: pl.DataFrame | None = None,
    b_ic: pl.DataFrame | None = None,
) -> Comparison:
    """Write a report comparing two experiments to ``path`` atomically: headline metrics side by side with their
    difference, both equity curves, the difference of daily returns and per-regime tables."""
    metrics = (compute_metrics(a_daily, a_ic), compute_metrics(b_daily, b_ic))
    target = Path(path)
    heading = title or f"{names[0]} vs {names[1]}"
    _write_atomic(target, lambda: render_comparison(a_daily, b_daily, metrics, names=names, title=heading))
    return Comparison(path=target, names=names, metrics=metrics)


def markdown_summary(metrics: MetricsReport) -> str:
    """A short markdown table of the headline metrics, strategy vs benchmark vs 1/N (for Dagster asset metadata)."""
    series = list(SERIES_LABELS)
    lines = [
        "| Metric | " + " | ".join(SERIES_LABELS[s] for s in series) + " |",
        "|---|" + "---:|" * len(series),
    ]
    for name in HEADLINE_METRICS:
        values = [metrics.get(s, ALL) for s in series]
        cells = [format_metric(name, getattr(v, name)) for v in values]
        lines.append(f"| {METRIC_LABELS[name]} | " + " | ".join(cells) + " |")
    span = f"{metrics.first_session} – {metrics.last_session}" if metrics.first_session else "no sessions"
    return "\n".join([f"**{span}**, {metrics.get('strategy', ALL).sessions} sessions", "", *lines])


def format_metric(name: str, value: float | int | None) -> str:
    """``value`` as the tables show it: percentages with 2 decimals, ratios with 2, counts as integers; NaN '–'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if name in ("sessions", "ic_sessions"):
        return f"{int(value):,}"
    if name in PERCENT_METRICS:
        return f"{value * 100:.2f}%"
    if name in ("mean_ic",):
        return f"{value:.4f}"
    return f"{value:.2f}"


def render_tear_sheet(
    daily: pl.DataFrame,
    metrics: MetricsReport,
    *,
    title: str,
    config_versions: Mapping[str, str] | None = None,
) -> str:
    """The HTML of one backtest's tear sheet (what :func:`write_tear_sheet` writes)."""
    series = list(SERIES_LABELS)
    headline = _table(
        ["Metric", *(SERIES_LABELS[s] for s in series)],
        [
            [METRIC_LABELS[m], *(format_metric(m, getattr(metrics.get(s), m)) for s in series)]
            for m in ("sessions", *HEADLINE_METRICS)
        ],
    )
    counts = regime_session_counts(daily)
    regime_rows = [[r, f"{n:,}", f"{n / max(sum(counts.values()), 1) * 100:.1f}%"] for r, n in counts.items()]
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(_span(metrics))}</p>',
        "<h2>Headline metrics</h2>",
        headline,
        "<h2>Equity vs benchmark and 1/N baseline</h2>",
        _img(plots.equity_png(daily), "equity"),
        "<h2>Drawdown</h2>",
        _img(plots.drawdown_png(daily), "drawdown"),
        "<h2>Rolling Sharpe ratio</h2>",
        _img(plots.rolling_sharpe_png(daily), "rolling Sharpe ratio"),
        "<h2>Exposure</h2>",
        _img(plots.exposures_png(daily), "exposure"),
        "<h2>Costs</h2>",
        _img(plots.costs_png(daily), "cumulative costs"),
        "<h2>Regimes</h2>",
        _table(["Regime", "Sessions", "Share"], regime_rows),
    ]
    for s in series:
        parts += [f"<h3>{escape(SERIES_LABELS[s])} by regime</h3>", _regime_table(metrics, s)]
    if metrics.get("strategy").ic_sessions:
        parts += ["<h2>IC by regime</h2>", _img(plots.ic_by_regime_png(metrics), "IC by regime")]
    if config_versions:
        parts += [
            "<h2>Config versions</h2>",
            _table(["Component", "Version"], [[k, v] for k, v in sorted(config_versions.items())]),
        ]
    parts += ["<h2>Definitions</h2>", _definitions()]
    return _page(title, parts)


def render_comparison(
    a_daily: pl.DataFrame,
    b_daily: pl.DataFrame,
    metrics: tuple[MetricsReport, MetricsReport],
    *,
    names: tuple[str, str],
    title: str,
) -> str:
    """The HTML of a two-experiment comparison (what :func:`write_comparison` writes)."""
    a, b = metrics
    rows = []
    for m in ("sessions", *HEADLINE_METRICS):
        va, vb = getattr(a.get("strategy"), m), getattr(b.get("strategy"), m)
        diff = vb - va if va is not None and vb is not None else math.nan
        rows.append([METRIC_LABELS[m], format_metric(m, va), format_metric(m, vb), format_metric(m, diff)])
    diff = plots.return_difference(a_daily, b_daily)
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(names[0])}: {escape(_span(a))}<br>{escape(names[1])}: {escape(_span(b))}<br>'
        f"{diff.height:,} sessions in common</p>",
        "<h2>Headline metrics (strategy)</h2>",
        _table(["Metric", names[0], names[1], f"{names[1]} − {names[0]}"], rows),
        "<h2>Equity</h2>",
        _img(plots.comparison_equity_png(a_daily, b_daily, names), "equity of both experiments"),
        "<h2>Difference of daily returns</h2>",
        _img(plots.return_difference_png(a_daily, b_daily, names), "daily return difference"),
        "<h2>By regime (strategy)</h2>",
        _comparison_regime_table(metrics, names),
        f"<h2>{escape(names[0])}: benchmark and 1/N baseline</h2>",
        _regime_table(a, "benchmark", regime=ALL, extra_series=("baseline",)),
        "<h2>Definitions</h2>",
        _definitions(),
    ]
    return _page(title, parts)


def _write_atomic(path: Path, render: Callable[[], str]) -> None:
    """Render, then write to a temporary file beside ``path`` and ``os.replace`` it over ``path``."""
    text = render()  # before any file is touched: a failing render leaves the old report as it was
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a report is meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _span(metrics: MetricsReport) -> str:
    n = metrics.get("strategy").sessions
    if metrics.first_session is None:
        return "no sessions"
    return f"{metrics.first_session} to {metrics.last_session}, {n:,} sessions"


def _regime_table(
    metrics: MetricsReport, series: str, *, regime: str | None = None, extra_series: Sequence[str] = ()
) -> str:
    """Rows (series, regime) with REGIME_METRICS columns; all regimes of ``series`` unless ``regime`` is given."""
    table = metrics.table.filter(pl.col("series").is_in([series, *extra_series]))
    if regime is not None:
        table = table.filter(pl.col("regime") == regime)
    head = ["Series" if extra_series else "Regime", *(METRIC_LABELS[m] for m in REGIME_METRICS)]
    rows = [
        [SERIES_LABELS[row["series"]] if extra_series else row["regime"]]
        + [format_metric(m, row[m]) for m in REGIME_METRICS]
        for row in table.iter_rows(named=True)
    ]
    return _table(head, rows)


def _comparison_regime_table(metrics: tuple[MetricsReport, MetricsReport], names: tuple[str, str]) -> str:
    shown = ("sessions", "annual_return", "sharpe", "max_drawdown", "hit_rate", "mean_ic")
    regimes = list(dict.fromkeys([ALL, *metrics[0].regimes, *metrics[1].regimes]))
    head = ["Regime", *(f"{METRIC_LABELS[m]} ({n})" for m in shown for n in names)]
    rows = []
    for regime in regimes:
        cells = [regime]
        for m in shown:
            for report in metrics:
                try:
                    cells.append(format_metric(m, getattr(report.get("strategy", regime), m)))
                except KeyError:  # the other experiment never saw this regime
                    cells.append("–")
        rows.append(cells)
    return _table(head, rows)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _definitions() -> str:
    items = "".join(f"<dt>{escape(METRIC_LABELS[m])}</dt><dd>{escape(DEFINITIONS[m])}</dd>" for m in METRIC_NAMES)
    note = (
        "Daily returns, 252 sessions a year, risk-free rate 0. Per-regime figures string the regime's sessions "
        "together. Turnover, cost drag and IC are the strategy's. '–' marks a value that is undefined (fewer than "
        "two sessions, or a column the results lack)."
    )
    return f'<dl>{items}</dl><p class="meta">{escape(note)}</p>'


def _page(title: str, parts: Sequence[str]) -> str:
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
