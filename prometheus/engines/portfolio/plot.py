"""PNG plot of the target book per session: gross, net and names held (asset metadata, docs)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: files and bytes only

import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402


def book_by_session(frame: pl.DataFrame) -> pl.DataFrame:
    """Per session of a ``target_portfolios`` frame: gross, net, names held and one-way turnover.

    Turnover compares each session with the previous one of the frame (the first session's is null: its previous
    book is not in the frame); names missing from a session's rows are at 0, as the engine writes every exit.
    """
    if frame.is_empty():
        return pl.DataFrame(schema={"session": pl.Date(), "gross": pl.Float64(), "net": pl.Float64(),
                                    "names": pl.UInt32(), "turnover": pl.Float64()})  # fmt: skip
    wide = frame.pivot(on="instrument", index="session", values="weight").sort("session").fill_null(0.0)
    names = [c for c in wide.columns if c != "session"]
    change = pl.sum_horizontal([(pl.col(c) - pl.col(c).shift()).abs() for c in names]) / 2
    per = frame.group_by("session").agg(
        pl.col("weight").abs().sum().alias("gross"),
        pl.col("weight").sum().alias("net"),
        (pl.col("weight") != 0).sum().alias("names"),
    )
    turnover = wide.select("session", change.alias("turnover")).with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("turnover")).alias("turnover")
    )
    return per.join(turnover, on="session").sort("session")


def portfolio_plot_png(frame: pl.DataFrame, title: str) -> bytes:
    """Two panels of a target-portfolio frame: gross and net exposure, and the number of names held."""
    per = book_by_session(frame)
    fig, axes = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    if per.is_empty():
        axes[0].set_title(f"{title}: no sessions")
    else:
        days = per["session"].to_list()
        axes[0].plot(days, per["gross"].to_list(), color="navy", linewidth=0.8, label="gross")
        axes[0].plot(days, per["net"].to_list(), color="firebrick", linewidth=0.8, linestyle="--", label="net")
        axes[0].set_ylabel("exposure")
        axes[0].legend(loc="upper left")
        axes[0].set_title(title)
        axes[1].plot(days, per["names"].to_list(), color="darkgreen", linewidth=0.8)
        axes[1].set_ylabel("names held")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()
