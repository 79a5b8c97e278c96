"""The news encoder (all-MiniLM-L6-v2, offline). Importing this package does not import torch."""

from prometheus.encoders.text.minilm import (
    NEWS_INPUT_COLUMNS,
    aggregate_news,
    embed_texts,
    load_text_model,
    news_item_embeddings,
    news_items,
    text_model_version,
)

__all__ = [
    "NEWS_INPUT_COLUMNS",
    "aggregate_news",
    "embed_texts",
    "load_text_model",
    "news_item_embeddings",
    "news_items",
    "text_model_version",
]
