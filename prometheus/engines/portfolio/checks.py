"""The Portfolio & Risk engine's own output check: every target within the limits it was built under."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from prometheus.data.checks import CheckName, CheckOutcome, Severity
from prometheus.engines.portfolio.limits import PortfolioLimits

#: Slack for solver tolerance (weights are fractions of equity).
TOLERANCE = 1e-6


def limits_check(frame: pl.DataFrame, limits: PortfolioLimits) -> CheckOutcome:
    """Per session: gross, net band, per-name cap and long-only hold (ERROR otherwise); one-way turnover within its
    cap between consecutive sessions of the frame (a WARN: the fallback chain may relax it, and says so in its
    decision). Sector caps need the sectors, which the frame lacks: the engine's tests cover them."""
    if frame.is_empty():
        return CheckOutcome(CheckName.LIMITS, True, "no targets")
    per = frame.group_by("session").agg(
        pl.col("weight").abs().sum().alias("gross"),
        pl.col("weight").sum().alias("net"),
        pl.col("weight").abs().max().alias("largest"),
        pl.col("weight").min().alias("smallest"),
    )
    bad: dict[str, int] = {}

    def count(name: str, mask: pl.Series) -> None:
        hits = int(mask.sum())
        if hits:
            bad[name] = hits

    if limits.max_gross is not None:
        count("gross", per["gross"] > limits.max_gross + TOLERANCE)
    if limits.max_net is not None:
        count("net_above", per["net"].abs() > limits.max_net + TOLERANCE)
    if limits.min_net is not None:
        count("net_below", per["net"] < limits.min_net - TOLERANCE)
    if limits.max_weight is not None:
        count("weight", per["largest"] > limits.max_weight + TOLERANCE)
    if limits.long_only:
        count("short", per["smallest"] < -TOLERANCE)
    turnover = _turnover_breaches(frame, limits.max_turnover)
    meta: Mapping[str, int | float | str] = {"sessions": per.height, **bad, "turnover_over_cap": turnover}
    if bad:
        return CheckOutcome(CheckName.LIMITS, False, f"limits broken on some sessions: {sorted(bad)}", metadata=meta)
    if turnover:
        return CheckOutcome(CheckName.LIMITS, False, f"turnover above its cap on {turnover} session(s) (fallbacks)",
                            Severity.WARN, meta)  # fmt: skip
    return CheckOutcome(CheckName.LIMITS, True, "every target within its limits", metadata=meta)


def _turnover_breaches(frame: pl.DataFrame, cap: float | None) -> int:
    if cap is None:
        return 0
    wide = frame.pivot(on="session", index="instrument", values="weight").fill_null(0.0)
    sessions = sorted(c for c in wide.columns if c != "instrument")
    breaches = 0
    for a, b in zip(sessions, sessions[1:], strict=False):
        if float((wide[b] - wide[a]).abs().sum()) / 2 > cap + TOLERANCE:
            breaches += 1
    return breaches
