"""PNG plot of the universe's member count and turnover per session (asset metadata, docs)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: files and bytes only

import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

from prometheus.engines.universe.schema import UniverseReason  # noqa: E402


def turnover_by_session(frame: pl.DataFrame) -> pl.DataFrame:
    """Per session: members, entered, exited and two-sided turnover (entered + exited) / (previous + current)."""
    entered = pl.col("reason") == str(UniverseReason.ENTERED)
    stayed = pl.col("reason") == str(UniverseReason.STAYED)
    out = (
        frame.group_by("session")
        .agg(
            (entered | stayed).sum().alias("members"),
            entered.sum().alias("entered"),
            (~(entered | stayed)).sum().alias("exited"),
            stayed.sum().alias("stayed"),
        )
        .sort("session")
    )
    both = 2 * pl.col("stayed") + pl.col("entered") + pl.col("exited")
    return out.with_columns(
        pl.when(both > 0).then((pl.col("entered") + pl.col("exited")) / both).otherwise(0.0).alias("turnover")
    ).drop("stayed")


def universe_plot_png(frame: pl.DataFrame, title: str) -> bytes:
    """Two panels of a universe frame: member count, and turnover with entries and exits per session."""
    per = turnover_by_session(frame)
    fig, axes = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    if per.is_empty():
        axes[0].set_title(f"{title}: no sessions")
    else:
        days = per["session"].to_list()
        axes[0].plot(days, per["members"].to_list(), color="navy", linewidth=0.8)
        axes[0].set_ylabel("members")
        axes[0].set_title(title)
        axes[1].plot(days, per["turnover"].to_list(), color="firebrick", linewidth=0.6)
        axes[1].set_ylabel("turnover")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()
