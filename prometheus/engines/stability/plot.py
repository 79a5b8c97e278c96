"""PNG plot of the market's Delta AR and turbulence (asset metadata, docs)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: files and bytes only

import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

from prometheus.engines.stability.schema import MARKET_ROW  # noqa: E402


def stability_plot_png(frame: pl.DataFrame, title: str) -> bytes:
    """Three panels of the market rows of a stability frame: Delta AR, turbulence with its threshold, score."""
    rows = frame.filter(pl.col("instrument") == MARKET_ROW).sort("session").unnest("components")
    fig, axes = plt.subplots(3, 1, figsize=(10, 6), sharex=True)
    if rows.is_empty():
        axes[0].set_title(f"{title}: no market rows")
    else:
        days = rows["session"].to_list()
        axes[0].plot(days, rows["delta_ar"].to_list(), color="navy", linewidth=0.8)
        axes[0].axhline(1.0, color="firebrick", linewidth=0.6, linestyle="--")
        axes[0].set_ylabel("Delta AR")
        axes[0].set_title(title)
        axes[1].plot(days, rows["turbulence"].to_list(), color="black", linewidth=0.6, label="turbulence")
        axes[1].plot(days, rows["turbulence_threshold"].to_list(), color="firebrick", linewidth=0.6, label="q75")
        axes[1].set_yscale("log")
        axes[1].legend(loc="upper left", fontsize=7)
        axes[2].plot(days, rows["score"].to_list(), color="darkgreen", linewidth=0.8)
        axes[2].set_ylim(0, 1)
        axes[2].set_ylabel("stability")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()
