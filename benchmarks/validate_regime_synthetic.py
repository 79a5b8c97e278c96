"""Regime validation on the synthetic market (METHODS "Regime"): out-of-sample crisis-vs-rest balanced accuracy and
switch counts of the jump model and the HMM baseline, per seed (100 names x 5 years, scored from year 3).

The issue's bar is balanced accuracy >= 0.85 and switches <= 2x the true count on each of seeds 1, 2, 3. The bar is
not met today (see docs/engines/regime.md), so this is a script that prints the figures, not a passing test.

Seeds 1, 2, 3 are the test seeds: choose configurations on development seeds (100-119) and run the test seeds
once with the chosen one.

Usage: python benchmarks/validate_regime_synthetic.py [--seeds 1 2 3] [--states 2] [--cross-section
[--cross-section-weight 3] [--cross-section-half-lives 2 5 20]] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from prometheus.data.synthetic import SyntheticConfig, generate_market
from prometheus.engines.regime import History, RegimeConfig, RegimeMethod, label_online
from prometheus.engines.regime.features import daily_cross_section, regime_features

#: Labels are scored from this many years into the sample (the first refit needs two years of history).
OOS_AFTER_YEARS = 2


def balanced_accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean of the hit rates on crisis and on non-crisis sessions (NaN without crisis sessions)."""
    if not truth.any() or truth.all():
        return float("nan")
    return float((pred[truth].mean() + (~pred[~truth]).mean()) / 2)


def evaluate(seed: int, cfg: RegimeConfig) -> dict[str, float]:
    """Walk-forward labels of the equal-weighted index of a 100-name, 5-year synthetic market, scored OOS.

    The cross-section (when configured) is built from the listed names' total returns of each session, as the
    engine reads them (NaN outside a name's listing window).
    """
    generated = generate_market(SyntheticConfig(seed=seed, n_names=100, years=5))
    market = generated.truth.market
    r = market["index_return"].to_numpy()
    sessions = market["date"].to_list()
    daily = daily_cross_section(generated.panel.returns.total, cfg.min_cross_section_names)
    features = regime_features(r, daily, cfg)
    history = History(sessions, features, r, [datetime(2000, 1, 1, tzinfo=UTC)] * len(r))
    first = history.index_before(date(sessions[0].year + OOS_AFTER_YEARS, 1, 1))
    probs, _ = label_online(history, list(range(first, len(r))), cfg, {})
    crisis = probs.argmax(axis=1) == cfg.n_states - 1
    truth = market["regime_code"].to_numpy()[first:] == 2
    return {
        "balanced_accuracy": round(balanced_accuracy(crisis, truth), 3),
        "switches": int(np.count_nonzero(np.diff(crisis))),
        "true_switches": int(np.count_nonzero(np.diff(truth))),
        "crisis_sessions": int(truth.sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--states", type=int, default=2)
    parser.add_argument("--cross-section", action="store_true", help="Add the cross-sectional features.")
    parser.add_argument("--cross-section-weight", type=float, default=1.0)
    parser.add_argument("--cross-section-half-lives", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cfg = RegimeConfig(
        n_states=args.states,
        cross_section=args.cross_section,
        cross_section_weight=args.cross_section_weight,
        cross_section_half_lives=tuple(args.cross_section_half_lives),
    )
    rows = []
    for seed in args.seeds:
        jm = evaluate(seed, cfg)
        hmm = evaluate(seed, RegimeConfig(**{**cfg.model_dump(), "method": RegimeMethod.HMM, "n_states": 2}))
        rows.append({"seed": seed, "jump_model": jm, "hmm": hmm})
        print(f"seed {seed}: JM {jm} | HMM {hmm}")
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "regime_synthetic.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"validation": "regime_synthetic", "bar": 0.85, "config": cfg.model_dump(mode="json"), "rows": rows},
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
