"""PNG plot of the target portfolio's VaR and ES of the worst scenario set per rebalance session (asset metadata)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: files and bytes only

import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402


def worst_set_by_session(frame: pl.DataFrame) -> pl.DataFrame:
    """Per session of a ``scenario_sets`` frame: the set with the largest portfolio ES, its VaR and ES and level.

    Sessions without a target portfolio (portfolio ES null) are left out.
    """
    schema = {"session": pl.Date(), "scenario_set": pl.String(), "var": pl.Float64(), "es": pl.Float64(),
              "level": pl.Float64()}  # fmt: skip
    if frame.is_empty():
        return pl.DataFrame(schema=schema)
    d = frame.select(
        "session",
        "scenario_set",
        pl.col("definition").struct.field("portfolio_var").alias("var"),
        pl.col("definition").struct.field("portfolio_es").alias("es"),
        pl.col("definition").struct.field("var_level").alias("level"),
    ).filter(pl.col("es").is_not_null())
    return d.sort(["session", "es", "scenario_set"]).group_by("session", maintain_order=True).last().sort("session")


def scenarios_plot_png(frame: pl.DataFrame, title: str, limit: float | None = None) -> bytes:
    """VaR and ES (fractions of capital) of the worst set per rebalance session, with the stress limit if any."""
    per = worst_set_by_session(frame)
    fig, ax = plt.subplots(figsize=(10, 3.5))
    if per.is_empty():
        ax.set_title(f"{title}: no stress P&L")
    else:
        days = per["session"].to_list()
        level = per["level"][0]
        ax.plot(days, per["var"].to_list(), color="navy", linewidth=0.8, marker=".", label=f"VaR {level:g}")
        ax.plot(days, per["es"].to_list(), color="firebrick", linewidth=0.8, marker=".", label=f"ES {level:g}")
        if limit is not None:
            ax.axhline(limit, color="black", linestyle="--", linewidth=0.7, label="stress loss limit")
        ax.set_ylabel("loss (fraction of capital)")
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()
