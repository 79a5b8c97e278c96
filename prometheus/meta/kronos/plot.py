"""The Kronos report's chart: mean outcome by regime per engine at the report's horizon, +/- one standard error."""

from __future__ import annotations

import io
import math

import numpy as np
import polars as pl

from prometheus.meta.kronos.report import PERFORMANCE_ENGINES


def slices_png(slices: pl.DataFrame, horizon: int) -> bytes:
    """One panel per performance engine (assessment IC, portfolio P&L, fragility rank correlation): the mean
    outcome of each regime and of all sessions, with error bars from the non-overlapping t-statistic."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    at = slices.filter(pl.col("horizon_sessions") == horizon, pl.col("engine").is_in(PERFORMANCE_ENGINES))
    engines = sorted(set(at["engine"].to_list())) or ["(no outcomes)"]
    fig = Figure(figsize=(4.0 * len(engines), 3.2), dpi=100)
    FigureCanvasAgg(fig)
    for i, engine in enumerate(engines):
        ax = fig.add_subplot(1, len(engines), i + 1)
        rows = at.filter(pl.col("engine") == engine).sort("regime")
        means = rows["mean"].fill_nan(None).fill_null(0.0).to_numpy() if rows.height else np.zeros(0)
        ts = rows["t_stat"].to_numpy() if rows.height else np.zeros(0)
        errors = [abs(m / t) if math.isfinite(t) and t != 0 else 0.0 for m, t in zip(means, ts, strict=True)]
        ax.bar(rows["regime"].to_list() if rows.height else [], means, yerr=errors, capsize=4,
               color=["#555555" if r == "all" else "#b23a3a" if r == "crisis" else "#1f4e9c"
                      for r in (rows["regime"].to_list() if rows.height else [])])  # fmt: skip
        ax.axhline(0.0, color="black", lw=0.6)
        ax.set_title(f"{engine} (H = {horizon})", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
