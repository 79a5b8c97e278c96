"""The cross-section: symbols, names, sectors, sizes, factor loadings and listing windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prometheus.data.synthetic._random import stream
from prometheus.data.synthetic.config import SyntheticConfig

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
_SUFFIXES = ("Inc", "Corp", "Holdings", "Group", "Co", "Ltd")


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

    @property
    def n(self) -> int:
        """Number of instruments."""
        return len(self.symbols)


def _tickers(rng: np.random.Generator, n: int) -> np.ndarray:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    seen: dict[str, None] = {}
    while len(seen) < n:
        length = int(rng.choice([3, 4], p=[0.45, 0.55]))
        seen.setdefault("".join(rng.choice(letters, size=length)), None)
    return np.array(list(seen), dtype=object)


def _names(rng: np.random.Generator, sector: np.ndarray) -> np.ndarray:
    adj = rng.integers(0, len(_ADJECTIVES), size=len(sector))
    noun = rng.integers(0, 4, size=len(sector))
    suf = rng.integers(0, len(_SUFFIXES), size=len(sector))
    out = [f"{_ADJECTIVES[a]} {_NOUNS[s][k]} {_SUFFIXES[x]}" for a, s, k, x in zip(adj, sector, noun, suf, strict=True)]
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


def build_universe(cfg: SyntheticConfig, n_sessions: int) -> Universe:
    """Draw the cross-section for ``cfg`` (stream ``universe``)."""
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
    return Universe(
        symbols=np.sort(_tickers(rng, n)),  # column order = alphabetical symbol order
        names=_names(rng, sector),
        sector=sector,
        exchange=np.where(rng.random(n) < 0.6, "XNYS", "XNAS").astype(object),
        cap0=np.exp(log_cap),
        price0=np.exp(rng.uniform(np.log(10.0), np.log(150.0), size=n)),
        beta=beta,
        sector_loading=np.clip(rng.normal(1.0, 0.2, size=n), 0.3, 1.7),
        styles=styles,
        idio_vol=np.clip(idio, 0.10, 0.70),
        listed=listed,
        delisted=delisted,
        is_delisted=is_delisted,
        dividend_yield=np.where(payer, rng.uniform(*cfg.dividend_yield_range, size=n), 0.0),
        split_threshold=rng.uniform(*cfg.split_threshold_range, size=n),
    )
