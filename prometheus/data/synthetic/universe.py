"""The cross-section: symbols, names, sectors, sizes, factor loadings and listing windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prometheus.core.types import Market
from prometheus.data.synthetic import fx
from prometheus.data.synthetic._random import stream
from prometheus.data.synthetic.config import SyntheticConfig
from prometheus.data.synthetic.profiles import PROFILES, MarketProfile, TickerScheme

#: GICS-like sectors; the weights are roughly the US large-cap mix.
SECTORS: tuple[str, ...] = (
    "Energy",
    "Materials",
    "Industrials",
    "Consumer Discretionary",
    "Consumer Staples",
    "Health Care",
    "Financials",
    "Information Technology",
    "Communication Services",
    "Utilities",
    "Real Estate",
)
_SECTOR_WEIGHTS = np.array([5, 6, 14, 11, 6, 12, 13, 15, 6, 5, 7], dtype=float)
#: Style factors, in the column order of ``Universe.styles``.
STYLES: tuple[str, ...] = ("size", "value", "momentum")

_ADJECTIVES = (
    "Apex Blue Cedar Delta Ember Falcon Granite Harbor Iron Juniper Keystone Lumen Meridian Northern Orion "
    "Pioneer Quantum Redwood Summit Titan Unity Vertex Willow Zenith Atlas Beacon Crescent Evergreen Frontier "
    "Golden Horizon Liberty Magnolia Nova Pacific Sterling Silver Vanguard Westbrook Aurora"
).split()
_NOUNS = (
    ("Petroleum", "Energy", "Drilling", "Pipeline"),
    ("Materials", "Chemicals", "Mining", "Steel"),
    ("Industries", "Aerospace", "Logistics", "Machinery"),
    ("Retail", "Apparel", "Motors", "Leisure"),
    ("Foods", "Beverages", "Household", "Grocers"),
    ("Therapeutics", "Health", "Biosciences", "Medical"),
    ("Bancorp", "Financial", "Capital", "Insurance"),
    ("Systems", "Software", "Semiconductor", "Networks"),
    ("Media", "Telecom", "Interactive", "Broadcasting"),
    ("Power", "Utilities", "Water", "Electric"),
    ("Realty", "Properties", "REIT", "Estates"),
)
#: FX: the generator's reference turnover (dollars) times this is a pair's volume, in units of its base currency.
#: Spot FX trades trillions a day; the synthetic volume stands for the liquidity a participation cap and the
#: impact model see (hundreds of millions of base units a day), not the whole interbank market.
FX_VOLUME_MULTIPLIER = 10.0
#: ... and never above this (half the ingestion QC's ``max_volume``): a crisis day of a small-unit base currency
#: would otherwise reach 1e12 units.
FX_VOLUME_MAX = 5e10


@dataclass(frozen=True)
class Universe:
    """Static attributes of the ``n`` instruments (arrays of length n, index = instrument column).

    ``listed`` / ``delisted`` are session indices of the first and last session with a price (inclusive).
    """

    symbols: np.ndarray  # str
    names: np.ndarray  # str
    sector: np.ndarray  # int index into SECTORS
    exchange: np.ndarray  # str MIC
    cap0: np.ndarray  # market cap (USD) at the first session
    price0: np.ndarray  # raw price before the first session
    beta: np.ndarray  # market loading
    sector_loading: np.ndarray  # loading on the own sector factor
    styles: np.ndarray  # (n, 3) standardised exposures to STYLES
    idio_vol: np.ndarray  # annual idiosyncratic volatility (calm-normal baseline)
    listed: np.ndarray  # int session index
    delisted: np.ndarray  # int session index (n_sessions - 1 when still listed)
    is_delisted: np.ndarray  # bool
    dividend_yield: np.ndarray  # annual, 0 for non-payers
    split_threshold: np.ndarray  # raw price that triggers a forward split
    sector_names: np.ndarray  # str label per instrument (SECTORS for equities, FX blocs for pairs)
    currency: np.ndarray  # str ISO code of the trading (FX: quote) currency
    price_scale: np.ndarray  # local currency per reference unit of the generated prices
    decimals: np.ndarray  # int decimals of the quoted prices
    volume_scale: np.ndarray | None = None  # FX: base-currency amount per reference dollar of turnover

    @property
    def n(self) -> int:
        """Number of instruments."""
        return len(self.symbols)


def _tickers(rng: np.random.Generator, n: int, scheme: TickerScheme = TickerScheme.LETTERS) -> np.ndarray:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    seen: dict[str, None] = {}
    while len(seen) < n:
        if scheme is TickerScheme.CODES:  # Tokyo securities codes: four digits, 1301-9997
            seen.setdefault(str(int(rng.integers(1301, 9998))), None)
            continue
        p = [0.45, 0.55] if scheme is TickerScheme.LETTERS else [0.85, 0.15]
        length = int(rng.choice([3, 4], p=p))
        seen.setdefault("".join(rng.choice(letters, size=length)), None)
    return np.array(list(seen), dtype=object)


def _names(rng: np.random.Generator, sector: np.ndarray, suffixes: tuple[str, ...]) -> np.ndarray:
    adj = rng.integers(0, len(_ADJECTIVES), size=len(sector))
    noun = rng.integers(0, 4, size=len(sector))
    suf = rng.integers(0, len(suffixes), size=len(sector))
    out = [f"{_ADJECTIVES[a]} {_NOUNS[s][k]} {suffixes[x]}" for a, s, k, x in zip(adj, sector, noun, suf, strict=True)]
    return np.array(out, dtype=object)


def _listing(cfg: SyntheticConfig, rng: np.random.Generator, n: int, n_sessions: int) -> tuple[np.ndarray, ...]:
    listed = np.zeros(n, dtype=np.int64)
    late = rng.random(n) < cfg.late_listing_fraction
    hi_listing = max(21, n_sessions - 252)
    listed[late] = rng.integers(20, hi_listing, size=int(late.sum()))
    delisted = np.full(n, n_sessions - 1, dtype=np.int64)
    room = (n_sessions - 2) - (listed + 126)
    is_delisted = (rng.random(n) < cfg.delisting_fraction) & (room > 0)
    offsets = (rng.random(n) * np.maximum(room, 1)).astype(np.int64)
    delisted[is_delisted] = (listed + 126 + offsets)[is_delisted]
    return listed, delisted, is_delisted


def build_universe(cfg: SyntheticConfig, n_sessions: int, profile: MarketProfile | None = None) -> Universe:
    """Draw the cross-section for ``cfg`` (stream ``universe``) as listed on ``profile``'s market (default US_EQ).

    Every market makes the same draws in the same order, so the factor structure of a seed is the same on each;
    the profile decides symbols, names, exchanges, currency and price units. FX pairs are listed throughout, pay
    nothing and never split; their sector is the pair's bloc (USD majors, EUR crosses, ...).
    """
    profile = profile or PROFILES[Market.US_EQ]
    if profile.tickers is TickerScheme.PAIRS:
        chosen = tuple(sorted(fx.pairs(cfg.n_names), key=lambda p: p.symbol))  # columns in symbol order
        return _fx_universe(build_universe(cfg, n_sessions, PROFILES[Market.US_EQ]), chosen, n_sessions)
    rng = stream(cfg.seed, "universe")
    n = cfg.n_names
    sector = rng.choice(len(SECTORS), size=n, p=_SECTOR_WEIGHTS / _SECTOR_WEIGHTS.sum())
    log_cap = rng.normal(np.log(5e9), 1.1, size=n)
    size_z = (log_cap - log_cap.mean()) / log_cap.std()
    styles = np.column_stack([size_z, rng.standard_normal(n), rng.standard_normal(n)])
    beta = np.clip(rng.normal(cfg.beta_mean, cfg.beta_sd, size=n), *cfg.beta_clip)
    idio = cfg.idio_annual_vol * np.exp(-cfg.idio_size_elasticity * (log_cap - np.median(log_cap)))
    listed, delisted, is_delisted = _listing(cfg, rng, n, n_sessions)
    payer = rng.random(n) < cfg.dividend_payer_fraction
    symbols = np.sort(_tickers(rng, n, profile.tickers))  # column order = alphabetical symbol order
    names = _names(rng, sector, profile.suffixes)
    pick = rng.random(n)  # one draw per name whatever the number of exchanges
    edges = np.cumsum(profile.exchange_weights)[:-1]
    exchange = np.array(profile.exchanges, dtype=object)[np.searchsorted(edges, pick, side="right")]
    return Universe(
        symbols=symbols,
        names=names,
        sector=sector,
        exchange=exchange,
        cap0=np.exp(log_cap),
        price0=np.exp(rng.uniform(np.log(10.0), np.log(150.0), size=n)),
        beta=beta,
        sector_loading=np.clip(rng.normal(1.0, 0.2, size=n), 0.3, 1.7),
        styles=styles,
        # Bounds 0.4x-2.8x the median name's vol (0.10-0.70 at the default 0.25), so a low-vol market keeps them.
        idio_vol=np.clip(idio, 0.4 * cfg.idio_annual_vol, 2.8 * cfg.idio_annual_vol),
        listed=listed,
        delisted=delisted,
        is_delisted=is_delisted,
        dividend_yield=np.where(payer, rng.uniform(*cfg.dividend_yield_range, size=n), 0.0),
        split_threshold=rng.uniform(*cfg.split_threshold_range, size=n),
        sector_names=np.array(SECTORS, dtype=object)[sector],
        currency=np.full(n, profile.currency, dtype=object),
        price_scale=np.full(n, profile.price_scale),
        decimals=np.full(n, profile.decimals, dtype=np.int64),
    )


def _fx_universe(eq: Universe, chosen: tuple[fx.Pair, ...], n_sessions: int) -> Universe:
    """Currency pairs on the factor structure of the equity draw: listed throughout, no dividends, no splits.

    Each pair's first rate is its plausible level (EURUSD about 1.10, USDJPY about 140) times a +-10 % wobble
    drawn from the equity price; the bloc of the pair replaces the GICS sector.
    """
    n = eq.n
    blocs = [p.bloc for p in chosen]
    labels = list(dict.fromkeys(blocs))
    level = np.array([p.level for p in chosen])
    wobble = np.exp(0.05 * (np.log(eq.price0) - np.log(eq.price0).mean()) / max(np.log(eq.price0).std(), 1e-9))
    usd_base = np.array([p.base_in_usd for p in chosen])
    return Universe(
        symbols=np.array([p.symbol for p in chosen], dtype=object),
        names=np.array([p.name for p in chosen], dtype=object),
        sector=np.array([labels.index(b) for b in blocs], dtype=np.int64),
        exchange=np.full(n, PROFILES[Market.FX_GLOB].exchanges[0], dtype=object),
        cap0=eq.cap0,
        price0=eq.price0,
        beta=eq.beta,
        sector_loading=eq.sector_loading,
        styles=eq.styles,
        idio_vol=eq.idio_vol,
        listed=np.zeros(n, dtype=np.int64),
        delisted=np.full(n, n_sessions - 1, dtype=np.int64),
        is_delisted=np.zeros(n, dtype=bool),
        dividend_yield=np.zeros(n),
        split_threshold=np.full(n, np.inf),
        sector_names=np.array(blocs, dtype=object),
        currency=np.array([p.quote for p in chosen], dtype=object),
        price_scale=level * wobble / eq.price0,
        decimals=np.array([p.decimals for p in chosen], dtype=np.int64),
        volume_scale=FX_VOLUME_MULTIPLIER / usd_base,
    )
