"""Inline SVG charts drawn with matplotlib on private Figure objects (no pyplot: its global figures and backend
leak between requests served by several threads)."""

from __future__ import annotations

import io
import math
import re
from datetime import date

import polars as pl
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

# Inches (72 pt, 96 px each): about the widths of a full- and a half-width card, so text keeps its size.
_WIDE, _NARROW, _HEIGHT = 13.0, 6.8, 2.6
#: Most session dates labelled on an x axis.
_TICKS = 8
#: Regime colours in state order (calm, normal, crisis); more states reuse the last.
_STATE_COLORS = ("#2e8b57", "#d9a21e", "#c0392b")
#: Names of the states by their number (the RegimeLabel sets of 2 and 3 states).
_STATE_NAMES = {2: ("calm", "crisis"), 3: ("calm", "normal", "crisis")}
# The XML prolog and DOCTYPE are not allowed inside an HTML document: the <svg> element alone is inlined.
_PROLOG = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def regime_probabilities_svg(history: pl.DataFrame) -> str:
    """Stacked filtered probabilities per session (columns ``session, p0 .. pK``); empty string without rows."""
    columns = sorted((c for c in history.columns if re.fullmatch(r"p\d+", c)), key=lambda c: int(c[1:]))
    if history.is_empty() or not columns:
        return ""
    fig = _figure(_WIDE)
    ax = fig.add_subplot()
    # Session i fills [i, i + 1): the step drawing needs one more point to show the last session.
    x = list(range(history.height + 1))
    ys = [[*v, v[-1]] for v in (history[c].fill_null(0.0).to_list() for c in columns)]
    names = _STATE_NAMES.get(len(columns), tuple(f"state {c[1:]}" for c in columns))
    colors = [_STATE_COLORS[min(i, len(_STATE_COLORS) - 1)] for i in range(len(columns))]
    if len(columns) == 2:
        colors = [_STATE_COLORS[0], _STATE_COLORS[-1]]  # calm, crisis
    ax.stackplot(x, *ys, labels=names, colors=colors, alpha=0.85, step="post")
    ax.set_ylim(0, 1)
    ax.set_xlim(0, history.height)
    ax.set_ylabel("probability")
    ax.legend(loc="upper left", fontsize=8, ncols=len(columns), framealpha=0.8)
    _session_ticks(ax, history["session"].to_list(), offset=0.5)
    return _svg(fig)


def equity_svg(history: pl.DataFrame) -> str:
    """Equity per session (columns ``session, equity``); empty string without rows."""
    if history.is_empty():
        return ""
    fig = _figure(_NARROW)
    ax = fig.add_subplot()
    ax.plot(range(history.height), history["equity"].to_list(), color="#1f4e9c", lw=1.4, marker=".")
    ax.set_ylabel("equity")
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    _session_ticks(ax, history["session"].to_list())
    return _svg(fig)


def _figure(width: float) -> Figure:
    fig = Figure(figsize=(width, _HEIGHT), layout="constrained")
    FigureCanvasSVG(fig)
    return fig


def _session_ticks(ax: Axes, sessions: list[date], offset: float = 0.0) -> None:
    # Sessions sit at equal steps (weekends and holidays take no room); at most _TICKS dates are labelled.
    step = max(1, math.ceil(len(sessions) / _TICKS))
    ticks = list(range(0, len(sessions), step))
    ax.set_xticks([i + offset for i in ticks], [sessions[i].isoformat() for i in ticks], rotation=30, ha="right",
                  fontsize=8)  # fmt: skip
    ax.tick_params(axis="y", labelsize=8)


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    # Text stays text (selectable, small) rather than paths; no date in the file, so output is reproducible.
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "prometheus"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return _PROLOG.sub("", buffer.getvalue(), count=1)
