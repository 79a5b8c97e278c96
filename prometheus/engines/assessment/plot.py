"""The assessments asset's plot: names scored and the spread of expected returns per session."""

from __future__ import annotations

import io

import polars as pl


def assessment_plot_png(frame: pl.DataFrame, title: str) -> bytes:
    """PNG: names scored per session and the 10-90 % spread of expected returns (an empty frame gives an empty
    figure with the title)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(title)
    if frame.height:
        per = (
            frame.group_by("session")
            .agg(
                pl.len().alias("names"),
                (pl.col("expected_return").quantile(0.9) - pl.col("expected_return").quantile(0.1)).alias("spread"),
            )
            .sort("session")
        )
        ax.plot(per["session"].to_list(), (per["spread"] * 1e4).to_list(), color="tab:blue", lw=1)
        ax.set_ylabel("expected return spread p90 - p10 (bp)")
        twin = ax.twinx()
        twin.plot(per["session"].to_list(), per["names"].to_list(), color="tab:gray", lw=0.8)
        twin.set_ylabel("names scored")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return buf.getvalue()
