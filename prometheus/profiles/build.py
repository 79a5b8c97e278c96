"""The demo build: train the numeric encoder walk-forward, embed the news, then write the profiles.

It sits in ``profiles`` because it drives both layers: profiles read the embeddings the encoders write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus.core.errors import DataError
from prometheus.core.settings import Settings
from prometheus.core.types import Market
from prometheus.data.schema import Table
from prometheus.encoders.config import NumericEncoderConfig, TextEncoderConfig
from prometheus.encoders.pipeline import LakeContext, price_panel, walk_forward_to_lake, write_news_embeddings
from prometheus.profiles.config import ProfileConfig
from prometheus.profiles.pipeline import write_panel_profiles

#: The demo's numeric encoder: yearly retrains on a subsample of names keep the step under a minute.
DEMO_NUMERIC = NumericEncoderConfig(
    retrain="year", channels=16, steps_initial=150, steps_retrain=25, max_train_names=100, batch_sessions=4
)


@dataclass(frozen=True)
class EncoderBuildSummary:
    """What :func:`build_default` did."""

    market: str
    models: int
    embeddings: int
    news_items: int
    news_aggregates: int
    profiles: int
    seconds: dict[str, float]

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        t = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
        return [
            f"encoders {self.market}: {self.models} numeric models, {self.embeddings} embeddings, "
            f"{self.news_items} news items, {self.news_aggregates} news aggregates, {self.profiles} profiles",
            f"  timings: {t}",
        ]


def build_default(
    settings: Settings,
    *,
    market: Market = Market.US_EQ,
    max_headlines: int = 500,
    numeric: NumericEncoderConfig | None = None,
    text: TextEncoderConfig | None = None,
    profiles: ProfileConfig | None = None,
) -> EncoderBuildSummary:
    """Train the numeric encoder walk-forward on the ingested market, embed its sessions and news (at most
    ``max_headlines`` items) and write the profiles. Needs ``prices_adjusted`` in the lake (run the ingestion).

    Raises
    ------
    DataError
        The lake holds no prices for ``market``.
    """
    ctx = LakeContext.from_settings(settings)
    cfg = numeric or DEMO_NUMERIC
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    dated = ctx.store.read(Table.PRICES_ADJUSTED, market=market, columns=["date"])
    if dated.is_empty():
        raise DataError(f"no prices_adjusted rows for {market.value}; run the ingestion first", file="prices_adjusted")
    start, end = dated["date"].min(), dated["date"].max()
    panel = price_panel(ctx, market, start, end)
    seconds["load"] = time.perf_counter() - t0
    models, embedded = walk_forward_to_lake(ctx, panel, cfg)
    seconds["numeric"] = time.perf_counter() - t0 - seconds["load"]
    t1 = time.perf_counter()
    items, aggs = write_news_embeddings(ctx, market, start, end, text or TextEncoderConfig(), max_items=max_headlines)
    seconds["text"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    n_profiles = write_panel_profiles(ctx, panel, start, profiles or ProfileConfig(), cfg)
    seconds["profiles"] = time.perf_counter() - t2
    return EncoderBuildSummary(market.value, models, embedded, items, aggs, n_profiles, seconds)


__all__ = ["DEMO_NUMERIC", "EncoderBuildSummary", "build_default"]
