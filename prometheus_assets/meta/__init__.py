"""Meta assets: decision outcomes (and, on top of them, Kronos)."""

from prometheus_assets.meta.outcomes import OUTCOMES_ASSET, build_outcome_assets

__all__ = ["OUTCOMES_ASSET", "build_outcome_assets"]
