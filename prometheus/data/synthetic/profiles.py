"""Per-market facts of the synthetic market: currency, exchange, ticker scheme, price units, what a name has.

The generator draws every market in the same reference units (prices of tens of dollars, dollar volume
``0.7 cap^0.8``); a market's profile says how those become its vendor files: the currency and listing exchange,
the symbol scheme, a price multiplier into the local currency and its decimals, and whether names have
corporate lives (dividends, splits, earnings, news, late listings, delistings). FX pairs have none of those.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from prometheus.core.errors import ConfigError
from prometheus.core.types import Market
from prometheus.data.synthetic.config import SyntheticConfig


class TickerScheme(StrEnum):
    """How symbols are drawn."""

    LETTERS = "letters"  # 3-4 capital letters (NYSE / Nasdaq style)
    XETRA = "xetra"  # mostly 3 capital letters (SAP, ALV, BAS style)
    CODES = "codes"  # 4-digit securities codes (Tokyo: 7203, 9984)
    PAIRS = "pairs"  # 6-letter BASEQUOTE currency pairs (EURUSD)


@dataclass(frozen=True)
class MarketProfile:
    """How the synthetic market of ``market`` looks in its vendor files.

    Attributes
    ----------
    currency : trading currency of every instrument (FX: each pair's quote currency instead).
    exchanges, exchange_weights : listing exchanges (MIC) and the share of names on each.
    tickers : symbol scheme.
    suffixes : company-name suffixes (six, for the same draws on every equity market).
    price_scale : local currency per reference unit (JPY prices are about 100 times dollar prices).
    decimals : decimals of prices and cash dividends (JPY: whole yen).
    corporate : names have dividends, splits, earnings, news, late listings and delistings.
    config : config values of the market's default (``market_config``); explicit values win.
    """

    market: Market
    currency: str
    exchanges: tuple[str, ...]
    exchange_weights: tuple[float, ...]
    tickers: TickerScheme
    suffixes: tuple[str, ...]
    price_scale: float
    decimals: int
    corporate: bool
    config: Mapping[str, Any] = field(default_factory=dict)


#: FX_GLOB's default config: currency pairs move about 8-12 % a year, not like stocks. The regime vols keep the
#: equity ratios (x 0.4, so the regimes stay identifiable from returns), drifts are small, idiosyncratic and factor
#: vols are a quarter of the equity ones. The planted ICs are unchanged (they act on standardised returns).
FX_CONFIG: dict[str, Any] = {
    "regime_annual_vol": (0.044, 0.068, 0.128),
    "regime_annual_drift": (0.02, 0.0, -0.05),
    "sector_annual_vol": 0.025,
    "style_annual_vol": 0.01,
    "idio_annual_vol": 0.06,
}

PROFILES: dict[Market, MarketProfile] = {
    Market.US_EQ: MarketProfile(
        Market.US_EQ, "USD", ("XNYS", "XNAS"), (0.6, 0.4), TickerScheme.LETTERS,
        ("Inc", "Corp", "Holdings", "Group", "Co", "Ltd"), 1.0, 2, True,
    ),
    Market.EU_EQ: MarketProfile(
        Market.EU_EQ, "EUR", ("XETR",), (1.0,), TickerScheme.XETRA,
        ("AG", "SE", "Group", "Holding AG", "NV", "SA"), 1.0, 2, True,
    ),
    Market.JP_EQ: MarketProfile(
        Market.JP_EQ, "JPY", ("XTKS",), (1.0,), TickerScheme.CODES,
        ("Corp", "Holdings", "Co Ltd", "Group", "KK", "Industries"), 100.0, 0, True,
    ),
    # FX: price levels, decimals and the quote currency come per pair from prometheus.data.synthetic.fx; XOFF is
    # the ISO 10383 code for trading off exchange (OTC interbank spot).
    Market.FX_GLOB: MarketProfile(
        Market.FX_GLOB, "USD", ("XOFF",), (1.0,), TickerScheme.PAIRS, ("",) * 6, 1.0, 5, False, FX_CONFIG,
    ),
}  # fmt: skip


def profile_for(market: Market) -> MarketProfile:
    """The profile of ``market``.

    Raises
    ------
    ConfigError
        The synthetic generator has no profile for the market (US_FUT).
    """
    if market not in PROFILES:
        known = ", ".join(m.value for m in PROFILES)
        raise ConfigError(f"no synthetic market for {market.value} (one of {known})", setting="market")
    return PROFILES[market]


def market_config(
    market: Market, values: Mapping[str, Any] | None = None, *, source: str = "config"
) -> SyntheticConfig:
    """A :class:`SyntheticConfig` of ``values`` on top of ``market``'s defaults (only FX_GLOB has any: US_EQ,
    EU_EQ and JP_EQ get exactly ``SyntheticConfig.from_mapping(values)``).

    Raises
    ------
    ConfigError
        A bad key or value, or a market without a profile.
    """
    return SyntheticConfig.from_mapping({**profile_for(market).config, **(values or {})}, source=source)
