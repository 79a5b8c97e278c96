"""Meta assets: decision outcomes (and, on top of them, Kronos)."""

from prometheus_assets.meta.kronos import KRONOS_ASSET, build_kronos_assets
from prometheus_assets.meta.outcomes import OUTCOMES_ASSET, build_outcome_assets

__all__ = ["KRONOS_ASSET", "OUTCOMES_ASSET", "build_kronos_assets", "build_outcome_assets"]
