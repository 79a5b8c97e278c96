"""Configuration of the QC rules and of the known-at rules for files that lack announcement times."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from prometheus.core.config import VersionedConfig


class QcConfig(VersionedConfig):
    """Thresholds of the QC rules (frozen, unknown keys rejected, content-hashed)."""

    kind: ClassVar[str] = "qc"

    spike_k: float = Field(10.0, gt=0.0, description="A jump beyond spike_k robust sigmas may be a fat finger.")
    spike_floor: float = Field(
        0.25, ge=0.0, description="Smallest |log return| ever called a spike (guards very quiet names)."
    )
    spike_min_returns: int = Field(20, ge=2, description="Returns needed for a name's own robust sigma.")
    default_sigma: float = Field(0.03, gt=0.0, description="Daily sigma used for names with too few returns.")
    stale_sessions: int = Field(5, ge=2, description="Identical bars with volume in a row that make a stale run.")
    max_quarantine_fraction: float = Field(
        0.01, ge=0.0, le=1.0, description="Above this share of bars quarantined, the feed is unfit for engines."
    )
