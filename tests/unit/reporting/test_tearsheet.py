"""The HTML tear sheet and comparison: self-contained, complete, written atomically; the markdown summary."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from prometheus.backtest.schema import COST_COLUMNS
from prometheus.reporting import tearsheet
from prometheus.reporting.metrics import METRIC_LABELS, compute_metrics
from prometheus.reporting.tearsheet import (
    HEADLINE_METRICS,
    format_metric,
    markdown_summary,
    write_comparison,
    write_tear_sheet,
)


def _daily(n: int = 120, *, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {
        "session": [date(2024, 1, 1) + timedelta(days=i) for i in range(n)],
        "equity": list(1e6 * np.cumprod(1 + rng.normal(0, 0.01, n))),
        "gross_exposure": list(rng.uniform(0.9, 1.0, n)),
        "net_exposure": list(rng.uniform(-0.1, 0.1, n)),
        "turnover": list(rng.uniform(0, 0.2, n)),
        "daily_return": list(rng.normal(0.0005, 0.01, n)),
        "benchmark_return": list(rng.normal(0.0004, 0.01, n)),
        "baseline_return": list(rng.normal(0.0004, 0.01, n)),
        "regime_label": ["crisis" if 30 <= i < 50 else "calm" for i in range(n)],
    }
    data |= {c: list(rng.uniform(0, 10, n)) for c in COST_COLUMNS}
    return pl.DataFrame(data)


def _ic(daily: pl.DataFrame) -> pl.DataFrame:
    rng = np.random.default_rng(7)
    return pl.DataFrame({"session": daily.get_column("session"), "ic": rng.normal(0.03, 0.1, daily.height)})


def test_tear_sheet_when_written_is_one_html_file_with_embedded_pngs_and_metric_names(tmp_path: Path) -> None:
    daily = _daily()
    sheet = write_tear_sheet(
        daily, tmp_path / "reports" / "exp.html", title="Experiment <x>", ic=_ic(daily), config_versions={"cfg": "v1"}
    )
    html = sheet.path.read_text(encoding="utf-8")
    assert sheet.path == tmp_path / "reports" / "exp.html"
    # equity, drawdown, rolling Sharpe, exposure, costs, IC by regime
    assert html.count("data:image/png;base64,") == 6
    for name in HEADLINE_METRICS:
        assert METRIC_LABELS[name] in html
    assert "Experiment &lt;x&gt;" in html  # the title is escaped, not injected
    assert "crisis" in html
    assert "calm" in html
    assert "v1" in html
    assert sheet.metrics.get("strategy").sessions == daily.height


def test_tear_sheet_when_written_is_self_contained_without_external_links(tmp_path: Path) -> None:
    html = write_tear_sheet(_daily(), tmp_path / "t.html", title="t").path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert "http://" not in html
    assert "https://" not in html
    assert "<script" not in html


def test_tear_sheet_without_ic_when_written_omits_the_ic_chart(tmp_path: Path) -> None:
    html = write_tear_sheet(_daily(), tmp_path / "t.html", title="t").path.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 5


def test_tear_sheet_when_results_have_one_session_is_still_written(tmp_path: Path) -> None:
    sheet = write_tear_sheet(_daily(1), tmp_path / "t.html", title="t")
    assert sheet.path.exists()
    assert "–" in sheet.path.read_text(encoding="utf-8")


def test_tear_sheet_when_render_fails_leaves_the_previous_file_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.html"
    path.write_text("previous report", encoding="utf-8")

    def broken(*_args: object, **_kwargs: object) -> str:
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(tearsheet, "render_tear_sheet", broken)
    with pytest.raises(RuntimeError, match="renderer failed"):
        write_tear_sheet(_daily(), path, title="t")
    assert path.read_text(encoding="utf-8") == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["t.html"]


def test_tear_sheet_when_replace_fails_keeps_the_previous_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.html"
    path.write_text("previous report", encoding="utf-8")

    def no_replace(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(tearsheet.os, "replace", no_replace)
    with pytest.raises(OSError, match="disk full"):
        write_tear_sheet(_daily(), path, title="t")
    assert path.read_text(encoding="utf-8") == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["t.html"]


def test_tear_sheet_when_written_twice_from_the_same_data_is_byte_identical(tmp_path: Path) -> None:
    daily = _daily()
    first = write_tear_sheet(daily, tmp_path / "a.html", title="t").path.read_bytes()
    second = write_tear_sheet(daily, tmp_path / "b.html", title="t").path.read_bytes()
    assert first == second


def test_comparison_when_written_names_both_experiments_and_embeds_both_charts(tmp_path: Path) -> None:
    a, b = _daily(seed=1), _daily(seed=2)
    result = write_comparison(a, b, tmp_path / "cmp.html", names=("momentum_v1", "momentum_v2"), b_ic=_ic(b))
    html = result.path.read_text(encoding="utf-8")
    assert "momentum_v1" in html
    assert "momentum_v2" in html
    assert html.count("data:image/png;base64,") == 2
    assert "http://" not in html
    assert "https://" not in html
    assert "crisis" in html  # the per-regime table
    assert result.metrics[1].get("strategy").ic_sessions == b.height


def test_markdown_summary_when_rendered_is_a_table_of_strategy_benchmark_and_baseline() -> None:
    text = markdown_summary(compute_metrics(_daily()))
    assert "| Metric | Strategy | Benchmark | 1/N baseline |" in text
    assert "| Sharpe ratio |" in text
    assert "| Max drawdown |" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "Metric" not in line]
    assert len(rows) == len(HEADLINE_METRICS)


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("annual_return", 0.1234, "12.34%"),
        ("sharpe", 1.234, "1.23"),
        ("sessions", 2520, "2,520"),
        ("sharpe", float("nan"), "–"),
        ("sharpe", float("inf"), "∞"),
    ],
)
def test_format_metric_when_given_a_value_shows_percent_ratio_count_or_dash(
    name: str, value: float, shown: str
) -> None:
    assert format_metric(name, value) == shown
