"""The MiniLM news encoder: pinned similarity, tone separation on held-out templates, point-in-time aggregates."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from prometheus.data.synthetic.text import PARTNERS, PRODUCTS, REGIONS, TEMPLATES, Tone
from prometheus.encoders import TextEncoderConfig
from prometheus.encoders.text import aggregate_news, embed_texts, load_text_model, news_item_embeddings, news_items

CONFIG = TextEncoderConfig()
#: cos(all-MiniLM-L6-v2("Acme raises full-year outlook"), ("Acme cuts outlook")), measured once.
PINNED_COSINE = 0.7393


@pytest.fixture(scope="module")
def model() -> Any:
    return load_text_model(CONFIG)


def _fill(template: str, k: int) -> str:
    return template.format(
        name=f"Company{k}", product=PRODUCTS[k % len(PRODUCTS)], partner=PARTNERS[k % len(PARTNERS)],
        region=REGIONS[k % len(REGIONS)], amount=100 + 50 * k, pct=3 + k, quarter=f"Q{1 + k % 4}", eps="1.10",
        est="1.00",
    )  # fmt: skip


def test_embedding_when_fixed_pair_has_pinned_cosine(model: Any) -> None:
    z = embed_texts(model, ["Acme raises full-year outlook", "Acme cuts outlook"])

    assert z.shape == (2, 384)
    assert np.linalg.norm(z, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    assert float(z[0] @ z[1]) == pytest.approx(PINNED_COSINE, abs=1e-4)


def test_tone_when_probed_on_held_out_templates_separates(model: Any) -> None:
    held_out = 4  # the last templates of each tone are never seen by the probe
    texts, labels, test = [], [], []
    for label, tone in enumerate((Tone.POSITIVE, Tone.NEGATIVE)):
        templates = TEMPLATES[tone]
        for j, template in enumerate(templates):
            for k in range(3):
                texts.append(_fill(template, 7 * j + k))
                labels.append(label)
                test.append(j >= len(templates) - held_out)
    z = embed_texts(model, texts)
    y, test_mask = np.array(labels), np.array(test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(C=10.0, max_iter=2000).fit(z[~test_mask], y[~test_mask])
    accuracy = float((clf.predict(z[test_mask]) == y[test_mask]).mean())
    print(f"news tone probe: held-out accuracy {accuracy:.3f} on {int(test_mask.sum())} headlines")

    assert accuracy >= 0.75


def test_aggregate_when_item_known_after_decision_excludes_it(model: Any) -> None:
    days = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)]
    dts = [datetime(d.year, d.month, d.day, 21, 5, tzinfo=UTC) for d in days]
    news = pl.DataFrame(
        {
            "date": [days[0], days[1], days[1]],
            "item_id": ["a", "b", "c"],
            "published_at": [dts[0] - timedelta(hours=3), dts[1] - timedelta(hours=2), dts[1] - timedelta(hours=1)],
            "symbol": ["AAA", "AAA", "AAA"],
            "headline": ["AAA wins contract", "AAA cuts outlook", "AAA recalls product"],
            "known_at": [dts[0] - timedelta(hours=3), dts[1] - timedelta(hours=2), dts[1] + timedelta(minutes=1)],
        }
    )
    items = news_items(news)
    embedded = news_item_embeddings(items, model, CONFIG, "US_EQ")
    agg = aggregate_news(news, embedded, days, dts, 2, "US_EQ").sort("date")

    assert agg["n_items"].to_list() == [1, 2, 2]  # c counts only from day 3; a leaves the window on day 3
    first = np.array(agg["embedding"][0])
    assert first == pytest.approx(np.array(embedded.filter(pl.col("item_id") == "a")["embedding"][0]), abs=1e-5)
