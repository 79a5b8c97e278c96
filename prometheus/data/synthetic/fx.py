"""Currency pairs of the synthetic FX market: symbols BASEQUOTE, price = QUOTE per 1 BASE, market conventions.

The base of a pair is the currency that ranks first in the market's order of precedence (EUR, GBP, AUD, NZD, USD,
CAD, CHF, ...), so the pairs read as traders quote them: EURUSD, USDJPY, EURJPY, AUDNZD.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus.core.errors import ConfigError

#: Currencies in order of quoting precedence, with a plausible level in US dollars per unit and a bloc label.
CURRENCIES: tuple[tuple[str, float, str], ...] = (
    ("EUR", 1.10, "Europe"),
    ("GBP", 1.27, "Europe"),
    ("AUD", 0.68, "Pacific"),
    ("NZD", 0.62, "Pacific"),
    ("USD", 1.0, "Americas"),
    ("CAD", 0.74, "Americas"),
    ("CHF", 1.12, "Europe"),
    ("NOK", 0.095, "Scandinavia"),
    ("SEK", 0.095, "Scandinavia"),
    ("DKK", 0.147, "Scandinavia"),
    ("SGD", 0.74, "Asia"),
    ("HKD", 0.128, "Asia"),
    ("MXN", 0.055, "Emerging"),
    ("ZAR", 0.055, "Emerging"),
    ("JPY", 1.0 / 140.0, "Asia"),
)
_USD = {c: v for c, v, _ in CURRENCIES}
_RANK = {c: i for i, (c, _, _) in enumerate(CURRENCIES)}
_BLOC = {c: b for c, _, b in CURRENCIES}
#: The seven USD majors first (most liquid), then crosses of the G10 and the rest, in precedence order.
_MAJORS = ("EURUSD", "USDJPY", "GBPUSD", "AUDUSD", "USDCHF", "USDCAD", "NZDUSD")


@dataclass(frozen=True)
class Pair:
    """One currency pair."""

    base: str
    quote: str

    @property
    def symbol(self) -> str:
        """``BASEQUOTE``, six letters."""
        return self.base + self.quote

    @property
    def level(self) -> float:
        """A plausible rate: units of the quote currency per one unit of the base."""
        return _USD[self.base] / _USD[self.quote]

    @property
    def base_in_usd(self) -> float:
        """US dollars per unit of the base currency (sizes the pair's turnover)."""
        return _USD[self.base]

    @property
    def decimals(self) -> int:
        """Quoted decimals: 3 when the rate is above 20 (JPY and other small-unit quotes), else 5."""
        return 3 if self.level > 20.0 else 5

    @property
    def name(self) -> str:
        """``EUR/USD``."""
        return f"{self.base}/{self.quote}"

    @property
    def bloc(self) -> str:
        """The group of the pair (``USD majors``, ``EUR crosses``, ``Asia crosses`` ...): its sector."""
        if "USD" in (self.base, self.quote):
            return "USD majors" if self.symbol in _MAJORS else "USD others"
        if self.base == "EUR":
            return "EUR crosses"
        return f"{_BLOC[self.base]} crosses"


def _all_pairs() -> list[Pair]:
    codes = [c for c, _, _ in CURRENCIES]
    pairs = [Pair(a, b) for i, a in enumerate(codes) for b in codes[i + 1 :]]
    first = {s: k for k, s in enumerate(_MAJORS)}
    # Majors, then USD pairs, then crosses; ties by precedence of the base, then of the quote.
    return sorted(pairs, key=lambda p: (first.get(p.symbol, len(first)), "USD" not in p.symbol,
                                        _RANK[p.base], _RANK[p.quote]))  # fmt: skip


#: Every pair the generator can draw, most liquid first.
PAIRS: tuple[Pair, ...] = tuple(_all_pairs())


def pairs(n: int) -> tuple[Pair, ...]:
    """The ``n`` most liquid pairs.

    Raises
    ------
    ConfigError
        ``n`` exceeds the number of pairs of :data:`CURRENCIES`.
    """
    if n > len(PAIRS):
        raise ConfigError(f"n_names {n}: the FX market has {len(PAIRS)} pairs at most", setting="n_names")
    return PAIRS[:n]
