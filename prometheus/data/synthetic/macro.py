"""A few macro series tied to the regime path: implied volatility, a 10-year yield, a credit spread (daily), and
CPI inflation and a PMI (monthly, released with a lag)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prometheus.data.synthetic._random import ar1, stream
from prometheus.data.synthetic.config import Regime, SyntheticConfig
from prometheus.data.synthetic.returns import MarketFactor


@dataclass(frozen=True)
class MacroSeries:
    """One series: definition plus observations (``t_obs``: session index the value is about, or the last
    session of the month for monthly series; ``t_rel``: session of release; ``rel_minutes``: minutes after the
    session's close (daily) or before its open (monthly, negative) at which it is released)."""

    code: str
    name: str
    frequency: str
    unit: str
    t_obs: np.ndarray
    t_rel: np.ndarray
    value: np.ndarray


#: Minutes relative to the release session's open (negative: before) for monthly series.
MONTHLY_RELEASE_MINUTES = {"CPI_YOY": -60, "PMI": 30}
DAILY_RELEASE_MINUTES = 15  # after the close


def _daily(cfg: SyntheticConfig, regimes: np.ndarray, market: MarketFactor) -> list[MacroSeries]:
    rng = stream(cfg.seed, "macro_daily")
    n = len(regimes)
    t = np.arange(n)
    crisis = (regimes == Regime.CRISIS.ordinal).astype(float)
    volx = np.round(100 * market.vol * 1.1 * np.exp(0.05 * ar1(rng, 0.8, n, 1)[:, 0]) + 2.0, 2)
    level = 2.5 + np.cumsum(rng.normal(0.0, 0.045, size=n) - 0.004 * crisis)
    ust = np.round(np.clip(level - 0.3 * (level - 2.5) * (t / max(n, 1)), 0.05, None), 3)
    anchor = np.array([110.0, 160.0, 420.0])[regimes]
    spread = np.round(anchor + 30.0 * ar1(rng, 0.97, n, 1)[:, 0], 1)
    spread = np.round(np.convolve(spread, np.ones(10) / 10, mode="full")[:n], 1)  # spreads move gradually
    spread[:9] = anchor[:9]
    return [
        MacroSeries("VOLX", "Implied volatility index", "daily", "percent", t, t, volx),
        MacroSeries("UST10Y", "10-year government yield", "daily", "percent", t, t, ust),
        MacroSeries("CREDIT_SPREAD", "Corporate credit spread", "daily", "basis points", t, t, spread),
    ]


def _monthly(cfg: SyntheticConfig, regimes: np.ndarray, months: np.ndarray) -> list[MacroSeries]:
    rng = stream(cfg.seed, "macro_monthly")
    month_end = np.flatnonzero(np.append(months[1:] != months[:-1], True))
    n_m = len(month_end)
    crisis_share = np.array([np.mean(regimes[max(0, e - 20) : e + 1] == Regime.CRISIS.ordinal) for e in month_end])
    cpi = np.round(2.5 + 0.6 * ar1(rng, 0.9, n_m, 1)[:, 0] - 0.8 * crisis_share, 1)
    pmi = np.round(52.0 + 1.5 * ar1(rng, 0.7, n_m, 1)[:, 0] - 7.0 * crisis_share, 1)
    n_t = len(regimes)
    cpi_rel, pmi_rel = np.minimum(month_end + 10, n_t - 1), np.minimum(month_end + 1, n_t - 1)
    keep_cpi, keep_pmi = month_end + 10 < n_t, month_end + 1 < n_t  # not yet released at the end: absent
    return [
        MacroSeries(
            "CPI_YOY",
            "Consumer price inflation, year on year",
            "monthly",
            "percent",
            month_end[keep_cpi],
            cpi_rel[keep_cpi],
            cpi[keep_cpi],
        ),
        MacroSeries(
            "PMI",
            "Manufacturing purchasing managers index",
            "monthly",
            "index",
            month_end[keep_pmi],
            pmi_rel[keep_pmi],
            pmi[keep_pmi],
        ),
    ]


def make_macro(
    cfg: SyntheticConfig, regimes: np.ndarray, market: MarketFactor, months: np.ndarray
) -> list[MacroSeries]:
    """All macro series (streams ``macro_daily`` and ``macro_monthly``)."""
    return _daily(cfg, regimes, market) + _monthly(cfg, regimes, months)
