"""Stability validation on the synthetic market, relative to the oracle and pooled over seeds (issue 19).

Per seed (100 names x 10 years, scored after a 3-year burn-in) and pooled over all scored sessions: the Spearman
of the engine's market composite with the true regime ordinal (0 calm, 1 normal, 2 crisis) beside the oracles'
(the true conditional market volatility, the bar's reference, and the true average correlation); the lead (the
composite's mean over the 10 sessions before crisis onsets against its calm mean); the false-alarm rates in calm
(``turbulent``, and ``delta_ar`` >= 1). The composite comes from the engine's own measure code
(``ScopeTracker``, ``session_measures``) with the default config. Definitions and bars:
:mod:`prometheus.engines.validation`; the test is ``tests/unit/engines/test_validation.py``.

The default seeds are the test seeds (201-210, fixed before looking); ``--dev`` runs the development seeds.

Usage: python benchmarks/validate_stability_synthetic.py [--seeds ... | --dev] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from prometheus.engines.stability import StabilityConfig
from prometheus.engines.validation import (
    DEV_SEEDS,
    MIN_CRISIS_SESSIONS,
    STABILITY_RELATIVE_BAR,
    TEST_SEEDS,
    StabilityFigures,
    first_scored,
    stability_figures,
    stability_run,
    validation_market,
)


def _line(f: StabilityFigures) -> str:
    return (
        f"Spearman {f.spearman:.3f} (oracle vol {f.oracle_spearman:.3f}, corr {f.oracle_corr_spearman:.3f})  "
        f"crisis {f.crisis_sessions:>4} of {f.sessions}, onsets {f.onsets:>2}  composite calm {f.calm_mean:.2f} "
        f"pre-onset {f.pre_onset_mean:.2f} crisis {f.crisis_mean:.2f}  false alarms in calm: turbulent "
        f"{f.false_alarm_turbulent:.3f}, dAR>=1 {f.false_alarm_delta_ar:.3f} (in crisis {f.crisis_turbulent:.3f}, "
        f"{f.crisis_delta_ar:.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(TEST_SEEDS))
    parser.add_argument("--dev", action="store_true", help="The development seeds 100-119.")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    seeds = list(DEV_SEEDS) if args.dev else args.seeds
    cfg = StabilityConfig()
    runs, rows = [], []
    started = time.perf_counter()
    for seed in seeds:
        market = validation_market(seed)
        run = stability_run(market, cfg, first_scored(market))
        runs.append(run)
        figures = stability_figures([run])
        rows.append({"seed": seed} | figures.as_dict())
        print(f"seed {seed}: {_line(figures)}")
    pooled = stability_figures(runs)
    print(f"pooled: {_line(pooled)}")
    rows_with_crises = [r for r in rows if r["crisis_sessions"] >= MIN_CRISIS_SESSIONS]
    bar = {"spearman_min": STABILITY_RELATIVE_BAR * pooled.oracle_spearman}
    met = (
        pooled.spearman >= bar["spearman_min"]
        and all((r["spearman"] or 0.0) > 0 for r in rows_with_crises)
        and pooled.pre_onset_mean > pooled.calm_mean
    )
    print(f"bar {bar}, positive on seeds with >= {MIN_CRISIS_SESSIONS} crisis sessions, lead: "
          f"{'met' if met else 'NOT met'} ({time.perf_counter() - started:.0f} s)")  # fmt: skip
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "stability_synthetic.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "validation": "stability_synthetic",
        "seeds": seeds,
        "config": cfg.model_dump(mode="json"),
        "bar": bar,
        "met": met,
        "pooled": pooled.as_dict(),
        "rows": rows,
    }
    out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
