"""The synthetic market: a seeded generator with regimes, factors, planted alpha and crowding, written in the
vendor-file layout that ingestion reads, plus its ground truth."""

from prometheus.data.synthetic.config import REGIMES, Regime, SyntheticConfig
from prometheus.data.synthetic.market import (
    SyntheticMarket,
    SyntheticPanel,
    SyntheticTruth,
    generate_market,
    realised_ic,
)
from prometheus.data.synthetic.profiles import PROFILES, MarketProfile, market_config
from prometheus.data.synthetic.schema import VENDOR_FILES, FileSchema
from prometheus.data.synthetic.stats import (
    acf,
    average_pairwise_correlation,
    cross_sectional_ic,
    hill_tail_index,
    leverage_correlation,
    mean_ic,
)
from prometheus.data.synthetic.writer import TRUTH_FILES, read_truth, write_vendor_files

__all__ = [
    "PROFILES",
    "REGIMES",
    "TRUTH_FILES",
    "VENDOR_FILES",
    "FileSchema",
    "MarketProfile",
    "Regime",
    "SyntheticConfig",
    "SyntheticMarket",
    "SyntheticPanel",
    "SyntheticTruth",
    "acf",
    "average_pairwise_correlation",
    "cross_sectional_ic",
    "generate_market",
    "hill_tail_index",
    "leverage_correlation",
    "market_config",
    "mean_ic",
    "read_truth",
    "realised_ic",
    "write_vendor_files",
]
