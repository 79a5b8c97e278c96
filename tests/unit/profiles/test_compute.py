"""Instrument profiles: rolling statistics, point-in-time events and sectors, clusters with stable labels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from prometheus.core.types import Market
from prometheus.data.panel import PricePanel
from prometheus.data.schema import PROFILES
from prometheus.profiles import ProfileConfig, cluster_labels, compute_profiles, event_stats, sector_of

N_T, N = 160, 24
DAYS = tuple(date(2024, 1, 1) + timedelta(days=k) for k in range(N_T))
DTS = tuple(datetime(d.year, d.month, d.day, 21, 5, tzinfo=UTC) for d in DAYS)
SYMBOLS = tuple(f"S{k:02d}" for k in range(N))


def _panel() -> PricePanel:
    rng = np.random.default_rng(0)
    m = rng.normal(0, 0.01, size=N_T)
    returns = 1.5 * m[:, None] + rng.normal(0, 0.01, size=(N_T, N))
    returns[:5, 3] = np.nan  # listed later
    return PricePanel(Market.US_EQ, DAYS, DTS, SYMBOLS, returns, np.full((N_T, N), 2e6))


def _events() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [DAYS[50], DAYS[100]],
            "symbol": ["S01", "S01"],
            "event": ["earnings", "earnings"],
            "value": [0.2, -0.1],
            "known_at": [DTS[49] + timedelta(minutes=5), DTS[101]],  # the second is announced a day late
        }
    )


def test_event_stats_when_announced_late_count_from_known_at() -> None:
    since, surprise = event_stats(_panel(), _events())

    assert since[49, 1] == -1  # announced after the decision time of day 49
    assert since[50, 1] == 0
    assert surprise[50, 1] == pytest.approx(0.2)
    assert since[100, 1] == 50
    assert surprise[100, 1] == pytest.approx(0.2)  # second not yet known
    assert since[101, 1] == 1
    assert surprise[101, 1] == pytest.approx(-0.1)
    assert since[10, 1] == -1
    assert np.isnan(surprise[10, 1])


def test_sector_when_record_changes_applies_from_its_date() -> None:
    instruments = pl.DataFrame({"symbol": ["S00", "S00"], "date": [DAYS[0], DAYS[80]], "sector": ["Tech", "Energy"]})
    sectors = sector_of(_panel(), instruments)

    assert sectors[79, 0] == "Tech"
    assert sectors[80, 0] == "Energy"
    assert sectors[10, 1] is None


def test_profiles_when_computed_fit_schema_and_match_direct_statistics() -> None:
    panel = _panel()
    cfg = ProfileConfig(beta_window=60, vol_window=20, n_clusters=2)
    rng = np.random.default_rng(1)
    emb = pl.DataFrame(
        {
            "date": [d for d in DAYS for _ in SYMBOLS],
            "symbol": list(SYMBOLS) * N_T,
            "embedding": pl.Series(rng.normal(size=(N_T * N, 4)).astype(np.float32)).cast(pl.List(pl.Float32)),
        }
    )
    instruments = pl.DataFrame({"symbol": list(SYMBOLS), "date": [DAYS[0]] * N, "sector": ["Tech"] * N})
    frame = compute_profiles(panel, cfg, instruments=instruments, events=_events(), embeddings=emb, first_session=100)
    row = frame.filter((pl.col("date") == DAYS[120]) & (pl.col("symbol") == "S02")).row(0, named=True)
    m = np.nanmean(panel.returns, axis=1)
    window = slice(61, 121)
    expected_beta = np.polyfit(m[window], panel.returns[window, 2], 1)[0]

    assert frame.columns == list(PROFILES.names)
    assert frame["date"].min() == DAYS[100]
    assert row["beta"] == pytest.approx(expected_beta, rel=1e-9)
    assert row["vol"] == pytest.approx(np.std(panel.returns[101:121, 2]) * np.sqrt(252), rel=1e-9)
    assert row["adv"] == pytest.approx(2e6)
    assert row["sector"] == "Tech"
    assert row["cluster"] in (0, 1)
    assert len(row["embedding_centroid"]) == 4


def test_cluster_labels_when_refitted_keep_labels_of_stable_groups() -> None:
    days = tuple(date(2024, 1, 1) + timedelta(days=k) for k in range(200))
    panel = PricePanel(Market.US_EQ, days, tuple(DTS[0] + timedelta(days=k) for k in range(200)), SYMBOLS,
                       np.zeros((200, N)), np.ones((200, N)))  # fmt: skip
    group = np.arange(N) % 2
    cents = np.where(group[None, :, None] == 0, 0.0, 5.0) + np.zeros((200, N, 3))
    cents += np.random.default_rng(2).normal(0, 0.1, size=cents.shape)
    labels = cluster_labels(panel, cents, ProfileConfig(n_clusters=2))

    first, later = labels[0], labels[-1]
    assert set(first) == {0, 1}
    assert np.array_equal(first, later)
