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
    spike_min_returns: int = Field(20, ge=2, description="Prior returns needed for a name's own robust sigma.")
    spike_window: int = Field(
        250, ge=2, description="Returns before a bar that give its robust sigma (the rule never looks ahead)."
    )
    default_sigma: float = Field(0.03, gt=0.0, description="Daily sigma used for names with too few returns.")
    stale_sessions: int = Field(5, ge=2, description="Identical bars with volume in a row that make a stale run.")
    max_price: float = Field(
        1e7, gt=0.0, allow_inf_nan=False, description="Above this price (in the instrument's currency) a bar is junk."
    )
    max_volume: float = Field(
        1e11, gt=0.0, allow_inf_nan=False, description="Above this many shares traded in a session a bar is junk."
    )
    max_split_ratio: float = Field(
        1000.0,
        gt=1.0,
        allow_inf_nan=False,
        description="Split ratios outside [1 / max_split_ratio, max_split_ratio] are implausible.",
    )
    max_quarantine_fraction: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="Above this share of a delivery's rows quarantined, the delivery fails (and the feed is unfit "
        "for engines).",
    )
