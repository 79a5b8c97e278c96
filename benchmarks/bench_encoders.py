"""Benchmark: numeric encoder training per retraining period and inference per session for 500 names; MiniLM
embedding of 1,000 headlines.

Uses the synthetic market in memory (500 names x 4 years). Prints the figures and writes them as JSON (``--out``,
default $PROMETHEUS_DATA_ROOT/benchmarks/encoders.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus.core.types import Market
from prometheus.data.panel import PricePanel
from prometheus.data.synthetic import SyntheticConfig, generate_market
from prometheus.data.synthetic.text import PARTNERS, PRODUCTS, REGIONS, TEMPLATES
from prometheus.encoders import DEMO_NUMERIC, NumericEncoderConfig, TextEncoderConfig
from prometheus.encoders.numeric import embed_period, features_of, retraining_periods, train_period
from prometheus.encoders.text import embed_texts, load_text_model


def _panel(names: int, years: int, seed: int) -> PricePanel:
    m = generate_market(SyntheticConfig(n_names=names, years=years, seed=seed))
    p = m.panel
    dts = tuple(
        datetime.combine(d, datetime.min.time(), tzinfo=UTC) + timedelta(hours=21, minutes=5) for d in m.sessions
    )
    symbols = tuple(str(s) for s in p.universe.symbols)
    return PricePanel(
        Market.US_EQ, tuple(m.sessions), dts, symbols, p.returns.total.copy(), p.bars.close * p.bars.volume
    )


def _numeric(panel: PricePanel, config: NumericEncoderConfig, label: str) -> dict[str, float]:
    t0 = time.perf_counter()
    features = features_of(panel, config)
    feat_s = time.perf_counter() - t0
    periods = retraining_periods(panel.sessions, config.retrain)[-2:]
    t0 = time.perf_counter()
    first = train_period(panel, features, periods[0], config, None)
    scratch_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    second = train_period(panel, features, periods[1], config, first)
    warm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    frame = embed_period(panel, features, second, periods[1])
    infer_s = time.perf_counter() - t0
    sessions = frame["date"].n_unique()
    return {
        f"{label}_features_s": feat_s,
        f"{label}_train_from_scratch_s": scratch_s,
        f"{label}_train_warm_retrain_s": warm_s,
        f"{label}_inference_per_session_ms": 1000 * infer_s / sessions,
        f"{label}_inference_names": float(frame.filter(frame["date"] == frame["date"].max()).height),
    }


def _headlines(n: int) -> list[str]:
    templates = [t for group in TEMPLATES.values() for t in group]
    return [
        templates[k % len(templates)].format(
            name=f"Company{k}",
            product=PRODUCTS[k % len(PRODUCTS)],
            partner=PARTNERS[k % len(PARTNERS)],
            region=REGIONS[k % len(REGIONS)],
            amount=100 + k,
            pct=1 + k % 30,
        )  # fmt: skip
        for k in range(n)
    ]


def _text(n: int) -> dict[str, float]:
    t0 = time.perf_counter()
    model = load_text_model(TextEncoderConfig())
    load_s = time.perf_counter() - t0
    texts = _headlines(n)
    t0 = time.perf_counter()
    z = embed_texts(model, texts)
    embed_s = time.perf_counter() - t0
    assert z.shape == (n, 384)
    return {"text_model_load_s": load_s, "text_embed_1000_s": embed_s, "text_headlines_per_s": n / embed_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    root = Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data"))
    parser.add_argument("--out", type=Path, default=root / "benchmarks" / "encoders.json")
    parser.add_argument("--names", type=int, default=500)
    args = parser.parse_args()
    panel = _panel(args.names, 4, 42)
    results: dict[str, float | str] = {"names": args.names, "machine": platform.processor() or platform.machine()}
    results |= _numeric(panel, NumericEncoderConfig(), "default_quarterly")
    results |= _numeric(panel, DEMO_NUMERIC, "demo_yearly")
    results |= _text(1000)
    for key, value in results.items():
        print(f"{key:<45} {value:.3f}" if isinstance(value, float) else f"{key:<45} {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
