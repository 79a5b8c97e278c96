"""A synthetic market ingested into a lake and loaded as one snapshot, and its poisoned twin (panel engine tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import ingest_synthetic
from prometheus.data.known_at import decision_times
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig, SyntheticMarket, generate_market
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.engines import RunContext

BAR_DELAY = timedelta(minutes=5)


@dataclass(frozen=True)
class History:
    """A synthetic market, its lake and a snapshot of the panel tables."""

    market: SyntheticMarket
    store: HistoricalStore
    snapshot: HistorySnapshot

    def context(self, sessions: list[date], experiment: str = "test") -> RunContext:
        times = decision_times(get_calendar(), Market.US_EQ, sessions, BAR_DELAY)
        return RunContext(Market.US_EQ, tuple(sessions), times, experiment, config_version="v")

    def view(self, ctx: RunContext, snapshot: HistorySnapshot | None = None) -> TimeMachine:
        return TimeMachine(snapshot or self.snapshot, ctx.last_decision_time)


def ingest_history(root: Path, seed: int, names: int, years: int) -> History:
    """Generate and ingest the synthetic market, then load prices_adjusted and instruments known by 2100."""
    cfg = SyntheticConfig(seed=seed, n_names=names, years=years)
    store = HistoricalStore(root / "lake")
    ingest_synthetic(store, root, cfg, bar_delay=BAR_DELAY)
    snapshot = HistorySnapshot.load(
        store, [Table.PRICES_ADJUSTED, Table.INSTRUMENTS], known_until=datetime(2100, 1, 1, tzinfo=UTC),
        market=Market.US_EQ,
    )  # fmt: skip
    return History(generate_market(cfg), store, snapshot)


def poisoned(snapshot: HistorySnapshot, cutoff: datetime, day: date) -> HistorySnapshot:
    """Every input known after ``cutoff`` changed, plus late rows dated <= ``day`` known after ``cutoff``."""
    later = cutoff + timedelta(days=1)
    prices = snapshot.tables[Table.PRICES_ADJUSTED]
    after = pl.col("known_at") > cutoff
    prices = prices.with_columns(
        pl.when(after)
        .then(-3.0 * pl.col("total_return") + 0.01)
        .otherwise(pl.col("total_return"))
        .alias("total_return"),
        pl.when(after).then(pl.col("volume") * 7.0).otherwise(pl.col("volume")).alias("volume"),
    )
    recent = prices.filter((pl.col("date") <= day) & (pl.col("date") > day - timedelta(days=30)))
    late = recent.filter(pl.col("symbol").hash(7) % 3 == 0).with_columns(
        pl.lit(0.2).alias("total_return"), pl.lit(later).cast(pl.Datetime("us", "UTC")).alias("known_at")
    )
    newcomer = recent.filter(pl.col("symbol") == recent["symbol"].min()).with_columns(
        pl.lit("ZZLATE").alias("symbol"), pl.lit(later).cast(pl.Datetime("us", "UTC")).alias("known_at")
    )
    refs = snapshot.tables[Table.INSTRUMENTS]
    refs = refs.with_columns(pl.when(pl.col("known_at") > cutoff).then(pl.lit("Poison")).otherwise(pl.col("sector"))
                             .alias("sector"))  # fmt: skip
    late_refs = refs.head(20).with_columns(
        pl.lit("Poison").alias("sector"), pl.lit(later).cast(pl.Datetime("us", "UTC")).alias("known_at")
    )
    new_ref = refs.head(1).with_columns(pl.lit("ZZLATE").alias("symbol"),
                                        pl.lit(later).cast(pl.Datetime("us", "UTC")).alias("known_at"))  # fmt: skip
    tables = dict(snapshot.tables)
    tables[Table.PRICES_ADJUSTED] = pl.concat([prices, late, newcomer])
    tables[Table.INSTRUMENTS] = pl.concat([refs, late_refs, new_ref])
    return HistorySnapshot(snapshot.known_until, tables)
