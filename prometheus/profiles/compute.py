"""Point-in-time instrument profiles (pure functions over a price panel and point-in-time frames).

Per (session, instrument) with a bar: sector of the record in force, rolling beta to the market series, rolling
volatility, average dollar volume, Amihud illiquidity, the centroid of the recent embeddings and its cluster,
and event statistics (sessions since the last earnings known, its surprise). Every statistic at t uses rows
known by the decision time of t. Clusters are refitted at the first session of each period (k-means on the
centroids of that session) and their labels matched to the previous period's centres, so a label keeps its
meaning from period to period.
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from prometheus.data.panel import PricePanel
from prometheus.data.schema import EMBEDDING, PROFILES
from prometheus.encoders.numeric.features import market_returns, rolling_beta, rolling_mean, rolling_std
from prometheus.encoders.numeric.walkforward import retraining_periods
from prometheus.profiles.config import ProfileConfig

#: Annualisation of daily volatility.
SESSIONS_PER_YEAR = 252


def profile_version(config: ProfileConfig, embedding_version: str | None) -> str:
    """Version of a profile run: the config hash folded with the embedding series it clusters."""
    return hashlib.sha256(f"{config.config_version}|{embedding_version or ''}".encode()).hexdigest()


def embedding_panel(panel: PricePanel, embeddings: pl.DataFrame) -> np.ndarray | None:
    """(sessions, symbols, dim) array of ``embeddings`` (NaN where none), or None without embeddings."""
    if embeddings.is_empty():
        return None
    row = {d: k for k, d in enumerate(panel.sessions)}
    col = {s: k for k, s in enumerate(panel.symbols)}
    e = embeddings.filter(pl.col("date").is_in(panel.sessions) & pl.col("symbol").is_in(panel.symbols))
    z = np.stack(e["embedding"].to_numpy()).astype(np.float64)
    out = np.full((len(panel.sessions), len(panel.symbols), z.shape[1]), np.nan)
    out[[row[d] for d in e["date"].to_list()], [col[s] for s in e["symbol"].to_list()]] = z
    return out


def centroids(emb: np.ndarray, window: int) -> np.ndarray:
    """Rolling mean of each name's embeddings over ``window`` sessions (at least one embedding)."""
    have = np.isfinite(emb).all(axis=-1)
    vals = np.where(have[..., None], emb, 0.0)
    total = np.zeros_like(vals)
    count = np.zeros(have.shape)
    # Shift-and-add in a fixed order: exact per window and O(sessions x names x dim) memory.
    for lag in range(window):
        total[lag:] += vals[: vals.shape[0] - lag]
        count[lag:] += have[: have.shape[0] - lag]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / count[..., None]
    return np.where(count[..., None] > 0, out, np.nan)


def cluster_labels(panel: PricePanel, cents: np.ndarray, config: ProfileConfig) -> np.ndarray:
    """Cluster id per (session, name); -1 where there is no centroid or no fitted clustering yet."""
    from sklearn.cluster import KMeans

    labels = np.full(cents.shape[:2], -1, dtype=np.int64)
    days = np.array(panel.sessions)
    previous: np.ndarray | None = None
    for period in retraining_periods(panel.sessions, config.cluster_period):
        rows = np.flatnonzero((days >= period.start) & (days <= period.end))
        ok = np.isfinite(cents[rows[0]]).all(axis=1)
        if ok.sum() < 2 * config.n_clusters:
            continue
        km = KMeans(config.n_clusters, n_init=4, random_state=config.seed).fit(cents[rows[0]][ok])
        centres = km.cluster_centers_
        if previous is not None:
            # Match labels to the previous centres so label k keeps its meaning across refits.
            _, order = linear_sum_assignment(cdist(previous, centres))
            centres = centres[order]
        previous = centres
        for r in rows:
            have = np.isfinite(cents[r]).all(axis=1)
            if have.any():
                labels[r, have] = np.argmin(cdist(cents[r, have], centres), axis=1)
    return labels


def event_stats(panel: PricePanel, events: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Sessions since the last earnings known at each decision time, and its surprise (-1 / NaN when none)."""
    since = np.full(panel.returns.shape, -1, dtype=np.int64)
    surprise = np.full(panel.returns.shape, np.nan)
    col = {s: k for k, s in enumerate(panel.symbols)}
    day_index = {d: k for k, d in enumerate(panel.sessions)}
    ev = events.filter((pl.col("event") == "earnings") & pl.col("symbol").is_in(list(col)))
    if ev.is_empty():
        return since, surprise
    ev = ev.select(
        pl.col("symbol"),
        pl.col("date").replace_strict(day_index, default=-1, return_dtype=pl.Int64).alias("event_k"),
        pl.col("value"),
        pl.col("known_at").dt.cast_time_unit("us"),
    ).sort("known_at")
    n_t, n = panel.returns.shape
    grid = pl.DataFrame(
        {
            "symbol": np.repeat(np.array(panel.symbols, dtype=object), n_t).tolist(),
            "k": np.tile(np.arange(n_t), n),
            "decision_time": pl.Series(list(panel.decision_times) * n).dt.cast_time_unit("us"),
        }
    ).sort("decision_time")
    hit = grid.join_asof(
        ev, left_on="decision_time", right_on="known_at", by="symbol", strategy="backward", check_sortedness=False
    )
    hit = hit.filter(pl.col("event_k").is_not_null() & (pl.col("event_k") >= 0))
    t = hit["k"].to_numpy()
    i = hit["symbol"].replace_strict(col, return_dtype=pl.Int64).to_numpy()
    since[t, i] = np.maximum(t - hit["event_k"].to_numpy(), 0)
    surprise[t, i] = hit["value"].fill_null(np.nan).to_numpy()
    return since, surprise


def sector_of(panel: PricePanel, instruments: pl.DataFrame) -> np.ndarray:
    """Sector per (session, name) from the instrument record whose effective ``date`` is <= the session."""
    out = np.full(panel.returns.shape, None, dtype=object)
    days = np.array(panel.sessions)
    col = {s: k for k, s in enumerate(panel.symbols)}
    for row in instruments.sort("date").iter_rows(named=True):
        i = col.get(row["symbol"])
        if i is not None:
            out[days >= row["date"], i] = row["sector"]
    return out


def compute_profiles(
    panel: PricePanel,
    config: ProfileConfig,
    *,
    instruments: pl.DataFrame,
    events: pl.DataFrame,
    embeddings: pl.DataFrame,
    embedding_version: str | None = None,
    first_session: int = 0,
) -> pl.DataFrame:
    """Rows of the ``profiles`` table for the panel's sessions from row ``first_session`` on."""
    r = panel.returns
    m = market_returns(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        illiq = np.abs(r) / (panel.dollar_volume / 1e6)
    stats = {
        "beta": rolling_beta(r, m, config.beta_window),
        "vol": rolling_std(r, config.vol_window) * np.sqrt(SESSIONS_PER_YEAR),
        "adv": rolling_mean(panel.dollar_volume, config.adv_window),
        "amihud": rolling_mean(np.where(np.isfinite(illiq), illiq, np.nan), config.amihud_window),
    }
    emb = embedding_panel(panel, embeddings)
    cents = centroids(emb, config.centroid_window) if emb is not None else None
    labels = cluster_labels(panel, cents, config) if cents is not None else None
    since, surprise = event_stats(panel, events)
    sectors = sector_of(panel, instruments)
    t, i = np.nonzero(np.isfinite(r))
    keep = t >= first_session
    t, i = t[keep], i[keep]
    centroid = _centroid_column(cents, t, i)
    frame = pl.DataFrame(
        {
            "market": panel.market.value,
            "date": pl.Series(np.array(panel.sessions, dtype="datetime64[D]")[t]),
            "symbol": pl.Series(np.array(panel.symbols, dtype=object)[i], dtype=pl.String()),
            "config_version": profile_version(config, embedding_version),
            "sector": pl.Series(sectors[t, i].tolist(), dtype=pl.String()),
            **{name: pl.Series(v[t, i]).fill_nan(None) for name, v in stats.items()},
            "embedding_centroid": centroid,
            "cluster": pl.Series(labels[t, i] if labels is not None else np.full(t.size, -1)).replace(-1, None),
            "sessions_since_earnings": pl.Series(since[t, i]).replace(-1, None),
            "last_surprise": pl.Series(surprise[t, i]).fill_nan(None),
            "known_at": pl.Series(list(panel.decision_times)).dt.cast_time_unit("us").gather(t),
        }
    )
    return frame.select(PROFILES.names)


def _centroid_column(cents: np.ndarray | None, t: np.ndarray, i: np.ndarray) -> pl.Series:
    if cents is None:
        return pl.Series("embedding_centroid", [None] * t.size, dtype=EMBEDDING)
    rows = cents[t, i]
    have = np.isfinite(rows).all(axis=1)
    values = pl.Series("embedding_centroid", np.nan_to_num(rows).astype(np.float32)).cast(EMBEDDING)
    return pl.select(pl.when(pl.Series(have)).then(values).otherwise(None)).to_series().alias("embedding_centroid")
