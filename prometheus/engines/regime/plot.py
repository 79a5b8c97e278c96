"""PNG plot of the crisis probability under the market's cumulative return (asset metadata, validation docs)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: files and bytes only

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402


def crisis_plot_png(states: pl.DataFrame, market_returns: np.ndarray, title: str) -> bytes:
    """Two panels over ``states['session']``: cumulative market return (log scale) and P(crisis) (last state)."""
    sessions = states["session"].to_list()
    crisis = np.array([p[-1] for p in states["probabilities"].to_list()])
    level = np.cumprod(1.0 + np.nan_to_num(np.asarray(market_returns, dtype=float)))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5), sharex=True, height_ratios=(2, 1))
    top.plot(sessions, level, color="black", linewidth=0.8)
    top.set_yscale("log")
    top.set_ylabel("market (growth of 1)")
    top.set_title(title)
    bottom.fill_between(sessions, 0.0, crisis, color="firebrick", step="post", linewidth=0)
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("P(crisis)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()
