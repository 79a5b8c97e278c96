"""The markets the platform trades and the exchange calendar behind each."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from prometheus.core.types import Market


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """Static facts about a market.

    Attributes
    ----------
    market : the market id.
    calendar_code : exchange_calendars code (``FX_GLOB`` is our own calendar class).
    tz : the market's time zone; session dates are dates in this zone.
    description : one line for humans.
    """

    market: Market
    calendar_code: str
    tz: ZoneInfo
    description: str


MARKETS: dict[Market, MarketSpec] = {
    Market.US_EQ: MarketSpec(Market.US_EQ, "XNYS", ZoneInfo("America/New_York"), "US equities (NYSE)"),
    Market.US_FUT: MarketSpec(
        Market.US_FUT, "CMES", ZoneInfo("America/Chicago"), "US futures (CME Globex, 17:00-17:00 Chicago)"
    ),
    Market.EU_EQ: MarketSpec(Market.EU_EQ, "XETR", ZoneInfo("Europe/Berlin"), "European equities (Xetra)"),
    Market.JP_EQ: MarketSpec(Market.JP_EQ, "XTKS", ZoneInfo("Asia/Tokyo"), "Japanese equities (Tokyo, lunch break)"),
    Market.FX_GLOB: MarketSpec(
        Market.FX_GLOB, "FX_GLOB", ZoneInfo("America/New_York"), "Spot FX 24x5 (Sun 17:00 - Fri 17:00 NY)"
    ),
}
