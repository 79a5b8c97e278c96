"""``generate_market``: the whole synthetic market in memory, vendor frames plus ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from prometheus.calendar import get_calendar
from prometheus.core.errors import ConfigError
from prometheus.core.types import Market
from prometheus.data.synthetic import frames as fr
from prometheus.data.synthetic.alpha import Crowding, designed_ic, plant_crowding
from prometheus.data.synthetic.config import REGIMES, Regime, SyntheticConfig
from prometheus.data.synthetic.events import Earnings, News, earnings_schedule, make_news, no_earnings
from prometheus.data.synthetic.macro import make_macro
from prometheus.data.synthetic.prices import Bars, build_bars
from prometheus.data.synthetic.profiles import profile_for
from prometheus.data.synthetic.regimes import simulate_regimes
from prometheus.data.synthetic.returns import Returns, simulate_returns
from prometheus.data.synthetic.stats import mean_ic
from prometheus.data.synthetic.universe import Universe, build_universe

#: The default market (sessions of XNYS); ``generate_market(..., market=...)`` takes any market with a profile.
MARKET = Market.US_EQ


@dataclass(frozen=True)
class SyntheticPanel:
    """The arrays behind the frames, for tests and engines that want (session, name) panels.

    Columns of every (n_sessions, n_names) array follow ``universe.symbols``; rows follow ``sessions``.
    """

    universe: Universe
    regimes: np.ndarray  # int8 ordinal per session
    returns: Returns
    bars: Bars
    crowding: Crowding
    earnings: Earnings
    news: News


@dataclass(frozen=True)
class SyntheticTruth:
    """Ground truth frames (see ``schema``) and the manifest (JSON-serialisable dict)."""

    market: pl.DataFrame
    exposures: pl.DataFrame
    signals: pl.DataFrame
    news_tone: pl.DataFrame
    manifest: dict[str, Any]


@dataclass(frozen=True)
class SyntheticMarket:
    """A generated market: the vendor frames (columns: ``schema.VENDOR_FILES``), truth and panels."""

    config: SyntheticConfig
    market: Market
    sessions: tuple[Any, ...]  # datetime.date per session
    instruments: pl.DataFrame
    prices: pl.DataFrame
    corporate_actions: pl.DataFrame
    events: pl.DataFrame
    news: pl.DataFrame
    signals: pl.DataFrame
    macro: pl.DataFrame
    macro_series: pl.DataFrame
    truth: SyntheticTruth
    panel: SyntheticPanel

    def vendor_frames(self) -> dict[str, pl.DataFrame]:
        """File name to frame, in writing order."""
        return {
            "instruments.csv": self.instruments,
            "prices.csv": self.prices,
            "corporate_actions.csv": self.corporate_actions,
            "events.csv": self.events,
            "news.csv": self.news,
            "signals.csv": self.signals,
            "macro.csv": self.macro,
            "macro_series.csv": self.macro_series,
        }


def realised_ic(cfg: SyntheticConfig, regimes: np.ndarray, rets: Returns) -> dict[str, float]:
    """Mean cross-sectional IC of each planted signal at t against the standardised idiosyncratic return at t+1
    (Pearson unless noted); ``alpha_vs_total_rank`` is the Spearman IC against the next total return."""
    sig, s = rets.signals, np.where(np.isfinite(rets.total), rets.idio_std, np.nan)
    calm_next = np.flatnonzero(regimes[1:] == Regime.CALM.ordinal)
    return {
        "alpha": mean_ic(sig.latent, s),
        "alpha_rank": mean_ic(sig.latent, s, rank=True),
        "alpha_feature": mean_ic(sig.feature, s),
        "reversal": mean_ic(sig.reversal, s),
        "calm_in_calm": mean_ic(sig.calm, s, rows=calm_next),
        "noise_1": mean_ic(sig.noise[0], s) if len(sig.noise) else float("nan"),
        "alpha_vs_total_rank": mean_ic(sig.latent, rets.total, rank=True),
    }


def _manifest(
    cfg: SyntheticConfig,
    market: Market,
    clock: fr.Clock,
    uni: Universe,
    regimes: np.ndarray,
    rets: Returns,
    crowding: Crowding,
) -> dict[str, Any]:
    sig = rets.signals
    day = fr.session_dates(clock)
    changes = int(np.count_nonzero(np.diff(regimes)))
    return {
        "generator": "prometheus.data.synthetic",
        "seed": cfg.seed,
        "config_version": cfg.config_version,
        "config": cfg.model_dump(mode="json"),
        "market": market.value,
        "sessions": len(day),
        "first_session": day[0].isoformat(),
        "last_session": day[-1].isoformat(),
        "names": uni.n,
        "regimes": {r.value: int(np.sum(regimes == r.ordinal)) for r in REGIMES} | {"switches": changes},
        "coefficients": {
            "k_alpha": sig.k_alpha,
            "k_reversal": sig.k_reversal,
            "k_calm": sig.k_calm,
            "norm": sig.norm,
            "alpha_feature_corr": cfg.alpha_feature_corr,
            "news_tone_corr": cfg.news_tone_corr,
        },
        "ic_definition": "mean over sessions t of the cross-sectional Pearson correlation between a signal at the "
        "close of t and the standardised idiosyncratic return of t+1 (idio_std_return), over names listed on both",
        "designed_ic": designed_ic(cfg, regimes),
        "realised_ic": realised_ic(cfg, regimes, rets),
        "crowding": {
            "symbols": [str(s) for s in uni.symbols[crowding.members]],
            "start": day[crowding.start].isoformat(),
            "unwind_start": day[crowding.unwind_start].isoformat(),
            "end": day[crowding.end].isoformat(),
        },
    }


def _sessions(cfg: SyntheticConfig, market: Market) -> pl.DataFrame:
    frame = get_calendar().sessions_frame(market, cfg.start, cfg.end)
    if frame.height < 130:
        raise ConfigError(f"only {frame.height} sessions from {cfg.start} to {cfg.end}; need >= 130", setting="years")
    return frame


def generate_market(config: SyntheticConfig | None = None, market: Market = MARKET) -> SyntheticMarket:
    """Generate the market for ``config`` (default: 500 names x 10 years, seed 42) on ``market``'s sessions, with
    its currency, exchange and symbols (``profiles``). Deterministic in (config, market); US_EQ is the default.

    FX_GLOB: ``n_names`` currency pairs (at most ``len(fx.PAIRS)``) without corporate actions, earnings, company
    news, listings or delistings.
    """
    cfg = config if config is not None else SyntheticConfig()
    profile = profile_for(market)
    clock = fr.Clock(_sessions(cfg, market))
    n_t = len(clock.dates)
    uni = build_universe(cfg, n_t, profile)
    regimes = simulate_regimes(cfg, n_t)
    crowding = plant_crowding(cfg, uni, n_t)
    earnings, jumps = earnings_schedule(cfg, uni, n_t) if profile.corporate else no_earnings(n_t, uni.n)
    rets = simulate_returns(cfg, uni, regimes, crowding, jumps)
    bars = build_bars(cfg, uni, rets, corporate=profile.corporate)
    months = clock.dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    news = make_news(cfg, uni, rets.signals.latent, earnings, months, company=profile.corporate)
    news_frame, tone_frame = fr.news_frames(uni, news, earnings, clock)
    macro, macro_series = fr.macro_frames(make_macro(cfg, regimes, rets.market, months), clock)
    truth = SyntheticTruth(
        market=fr.market_truth_frame(regimes, rets, crowding.flow, clock),
        exposures=fr.exposures_frame(uni, crowding.loading),
        signals=fr.signals_frame(uni, rets, clock),
        news_tone=tone_frame,
        manifest=_manifest(cfg, market, clock, uni, regimes, rets, crowding),
    )
    return SyntheticMarket(
        config=cfg,
        market=market,
        sessions=fr.session_dates(clock),
        instruments=fr.instruments_frame(uni, clock),
        prices=fr.prices_frame(uni, bars, clock),
        corporate_actions=fr.actions_frame(uni, bars.actions, clock),
        events=fr.events_frame(uni, earnings, clock),
        news=news_frame,
        signals=fr.vendor_signals_frame(uni, rets, clock),
        macro=macro,
        macro_series=macro_series,
        truth=truth,
        panel=SyntheticPanel(uni, regimes, rets, bars, crowding, earnings, news),
    )
