"""Per-market facts of the synthetic market: currency, exchange, ticker scheme, price units, what a name has.

The generator draws every market in the same reference units (prices of tens of dollars, dollar volume
``0.7 cap^0.8``); a market's profile says how those become its vendor files: the currency and listing exchange,
the symbol scheme, a price multiplier into the local currency and its decimals, and whether names have
corporate lives (dividends, splits, earnings, news, late listings, delistings). FX pairs have none of those.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prometheus.core.errors import ConfigError
from prometheus.core.types import Market


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
        Market.FX_GLOB, "USD", ("XOFF",), (1.0,), TickerScheme.PAIRS, ("",) * 6, 1.0, 5, False,
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
