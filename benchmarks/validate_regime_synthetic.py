"""Regime validation on the synthetic market, relative to the oracle and pooled over seeds (issue 19).

Per seed (100 names x 10 years, scored after a 3-year burn-in) and pooled over all scored sessions: crisis-vs-rest
balanced accuracy, switches against the true count, crisis sessions and the median detection lag of crisis
onsets, for the jump model (the engine's default config unless options change it), the HMM baseline (the same
config with ``method: hmm``, 2 states) and the oracle (forward filter with the generator's true parameters).
Definitions and bars: :mod:`prometheus.engines.validation`; the test is ``tests/unit/engines/test_validation.py``.

The default seeds are the test seeds (201-210, fixed before looking): choose configurations on the development
seeds (``--dev``: 100-119) only, and run the test seeds with the chosen one.

Usage: python benchmarks/validate_regime_synthetic.py [--seeds ... | --dev] [--states 2] [--discrete] [--cross-section
[--cross-section-weight 3] [--cross-section-half-lives 2 5 20]] [--jump-penalties 60 100 200 400] [--no-hmm]
[--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from prometheus.engines.regime import RegimeConfig, RegimeMethod
from prometheus.engines.validation import (
    DEV_SEEDS,
    REGIME_ABSOLUTE_BAR,
    REGIME_RELATIVE_BAR,
    TEST_SEEDS,
    CrisisFigures,
    crisis_figures,
    first_scored,
    oracle_regime_crisis,
    regime_crisis,
    validation_market,
)


def _line(name: str, f: CrisisFigures) -> str:
    return (
        f"{name:<6} bal.acc {f.balanced_accuracy:.3f}  switches {f.switches:>4} / true {f.true_switches:>3}  "
        f"crisis {f.crisis_sessions:>4} of {f.sessions}  onsets {f.onsets:>3} detected {f.detected:>3}  "
        f"median lag {f.median_lag:g}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(TEST_SEEDS))
    parser.add_argument("--dev", action="store_true", help="The development seeds 100-119.")
    parser.add_argument("--states", type=int, default=2)
    parser.add_argument("--discrete", action="store_true", help="Discrete jump model (continuous: false).")
    parser.add_argument("--cross-section", action="store_true", help="Add the cross-sectional features.")
    parser.add_argument("--cross-section-weight", type=float, default=1.0)
    parser.add_argument("--cross-section-half-lives", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--jump-penalties", type=float, nargs="+", default=None, help="Penalty candidates.")
    parser.add_argument("--no-hmm", action="store_true", help="Skip the HMM baseline.")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    seeds = list(DEV_SEEDS) if args.dev else args.seeds
    cfg = RegimeConfig(
        n_states=args.states,
        continuous=not args.discrete,
        cross_section=args.cross_section,
        cross_section_weight=args.cross_section_weight,
        cross_section_half_lives=tuple(args.cross_section_half_lives),
        **({"jump_penalties": tuple(args.jump_penalties)} if args.jump_penalties else {}),
    )
    hmm_cfg = RegimeConfig(**{**cfg.model_dump(), "method": RegimeMethod.HMM, "n_states": 2, "continuous": True})
    models = {"jump_model": cfg} | ({} if args.no_hmm else {"hmm": hmm_cfg})
    runs: dict[str, list] = {name: [] for name in [*models, "oracle"]}
    rows = []
    started = time.perf_counter()
    for seed in seeds:
        market = validation_market(seed)
        first = first_scored(market)
        regimes = market.panel.regimes[first:]
        row: dict = {"seed": seed}
        flags = {name: regime_crisis(market, c, first) for name, c in models.items()}
        flags["oracle"] = oracle_regime_crisis(market, first)
        for name, pred in flags.items():
            runs[name].append((pred, regimes))
            row[name] = crisis_figures([(pred, regimes)]).as_dict()
        rows.append(row)
        print(f"seed {seed}")
        for name, pred in flags.items():
            print("  " + _line(name, crisis_figures([(pred, regimes)])))
    pooled = {name: crisis_figures(r) for name, r in runs.items()}
    print("pooled")
    for name, f in pooled.items():
        print("  " + _line(name, f))
    jm, oracle = pooled["jump_model"], pooled["oracle"]
    bar = {
        "balanced_accuracy_min": max(REGIME_RELATIVE_BAR * oracle.balanced_accuracy, REGIME_ABSOLUTE_BAR),
        "switches_max": max(2 * jm.true_switches, oracle.switches),
    }
    met = jm.balanced_accuracy >= bar["balanced_accuracy_min"] and jm.switches <= bar["switches_max"]
    print(f"bar {bar}: {'met' if met else 'NOT met'} ({time.perf_counter() - started:.0f} s)")
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "regime_synthetic.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "validation": "regime_synthetic",
        "seeds": seeds,
        "config": cfg.model_dump(mode="json"),
        "bar": bar,
        "met": met,
        "pooled": {name: f.as_dict() for name, f in pooled.items()},
        "rows": rows,
    }
    out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
