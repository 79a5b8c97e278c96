"""PNG plot of the flagged clusters over time (asset metadata, docs)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: files and bytes only

import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

from prometheus.engines.fragility.schema import CLUSTER_PREFIX  # noqa: E402


def fragility_plot_png(frame: pl.DataFrame, title: str) -> bytes:
    """Per session: the largest cluster's average residual correlation, and the size of each flagged cluster."""
    clusters = frame.filter(pl.col("instrument").str.starts_with(CLUSTER_PREFIX)).unnest("components")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    top.set_title(title)
    if not clusters.is_empty():
        best = clusters.sort("cluster_size").group_by("session").last().sort("session")
        top.plot(best["session"].to_list(), best["cluster_avg_corr"].to_list(), color="navy", linewidth=0.8)
        flagged = clusters.filter(pl.col("flagged") == 1.0)
        bottom.scatter(flagged["session"].to_list(), flagged["cluster_size"].to_list(), s=6, color="firebrick")
    top.set_ylabel("avg residual corr\n(largest cluster)")
    bottom.set_ylabel("flagged cluster size")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()
