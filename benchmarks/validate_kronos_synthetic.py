"""Kronos on synthetic markets (issue 21): a signal that works in calm regimes only is found, acted on and
confirmed on a hold-out; on markets without it Kronos proposes nothing.

Each seed gets its own data root and synthetic market (``--names`` x ``--years``, planted alpha and reversal off,
the regime and drift settings of :data:`VALIDATION_MARKET`) with the calm-only signal published as the vendor
signal ``calm_feature``: with ``calm_ic`` = ``--calm-ic`` on the signal seeds, 0 on the null seeds (the feature
is then pure noise). Through the functions the CLI calls:

1. the data (``prometheus_cli.flows.demo_flows``, no news);
2. the analysis experiment: the chain from ``--warmup-years`` after the start to one year before the end, with the
   demo's experiment config (``prometheus backtest``), its decision outcomes;
3. Kronos on it (``build_report``, ``propose``, proposals saved);
4. for each proposal, the hold-out over the last year (``prometheus kronos evaluate``): current vs proposed.

Figures per seed: the assessment's IC by regime label, the findings, the proposals, the hold-out verdicts; then
the hit rate on signal seeds (slice found, proposal made, hold-out accepted) and the false-proposal rate on null
seeds. Seeds are fixed here before any run (signal 301-303, null 401-410); nothing is tuned on them. The market
design was settled on development seeds (501 signal, 601 null; 501-520 for the regime shares) only.

Usage: python benchmarks/validate_kronos_synthetic.py [--signal-seeds 301 302 303] [--null-seeds 401 ... 410]
       [--names 100] [--years 5] [--calm-ic 0.1] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

#: The validation market, fixed before any seed ran (see the module docstring): regime visits short enough that
#: the two-year analysis window holds every regime (non-calm share at least a third on dev seeds 501-520, against
#: none at all in some windows with the default 250/80/40 sessions), and one market drift for all regimes, so the
#: planted calm-only signal is the only regime-conditional effect.
VALIDATION_MARKET: dict[str, Any] = {
    "regime_durations": (60.0, 40.0, 20.0),
    "regime_annual_drift": (0.06, 0.06, 0.06),
}


def run_seed(seed: int, calm_ic: float, args: argparse.Namespace) -> dict[str, Any]:
    """One market through data, analysis experiment, Kronos and (for its proposals) the hold-out."""
    with tempfile.TemporaryDirectory(prefix=f"kronos_{seed}_") as tmp:
        os.environ["PROMETHEUS_DATA_ROOT"] = tmp
        os.environ.pop("DAGSTER_HOME", None)

        from prometheus.backtest.experiment import demo_experiment
        from prometheus.core.settings import load_settings
        from prometheus.core.types import Market
        from prometheus.data.synthetic import SyntheticConfig
        from prometheus.meta.kronos import KronosConfig, build_report, propose, save_proposal, save_report
        from prometheus.runtime.store import RuntimeStore
        from prometheus_cli import flows

        t0 = time.perf_counter()
        settings = load_settings()
        quiet = lambda line: None  # noqa: E731 - the runs' progress lines are not part of the figures
        synthetic = SyntheticConfig.from_mapping(
            {"n_names": args.names, "years": args.years, "seed": seed, "alpha_ic": 0.0, "reversal_ic": 0.0,
             "calm_ic": calm_ic, "publish_calm_signal": True, **VALIDATION_MARKET},
            source="validate_kronos")  # fmt: skip
        with RuntimeStore(settings.effective_runtime_db_url) as store:
            store.upgrade()
            flows.demo_flows(settings, synthetic, quiet, (Market.US_EQ,), news_months=0)
            first = synthetic.start.replace(year=synthetic.start.year + args.warmup_years)
            holdout = date(synthetic.end.year - 1, synthetic.end.month, synthetic.end.day)
            config = demo_experiment()
            flows.backtest(settings, Market.US_EQ, first, holdout - timedelta(days=1), "analysis", config, quiet,
                           "validate_kronos")  # fmt: skip
            report = build_report(store, Market.US_EQ, "analysis", cfg=KronosConfig())
            report_id = save_report(store, report)
            ic = report.slices.filter(
                (report.slices["engine"] == "assessment")
                & (report.slices["horizon_sessions"] == KronosConfig().horizon)
            ).select("regime", "independent", "mean", "t_stat")
            out: dict[str, Any] = {
                "seed": seed, "calm_ic": calm_ic, "assessment_ic_by_regime": ic.to_dicts(),
                "findings": [{"kind": f.kind, "engine": f.engine, "message": f.message} for f in report.findings],
                "proposals": [],
            }  # fmt: skip
            for proposal in propose(report.findings, config.chain):
                pid = save_proposal(store, proposal, report_id)
                verdict = flows.evaluate_proposal(settings, store, pid, Market.US_EQ, holdout, synthetic.end, config,
                                                  quiet)  # fmt: skip
                out["proposals"].append({"rationale": proposal.rationale, "holdout": {
                    k: verdict[k] for k in ("sharpe_current_annual", "sharpe_proposed_annual", "deflated_sharpe",
                                            "n_trials", "accepted")}})  # fmt: skip
        out["seconds"] = round(time.perf_counter() - t0, 1)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--signal-seeds", type=int, nargs="*", default=[301, 302, 303])
    parser.add_argument("--null-seeds", type=int, nargs="*", default=list(range(401, 411)))
    parser.add_argument("--names", type=int, default=100)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--warmup-years", type=int, default=2)
    parser.add_argument("--calm-ic", type=float, default=0.1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out_path = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "kronos.json"
    results = []
    for seeds, calm_ic in ((args.signal_seeds, args.calm_ic), (args.null_seeds, 0.0)):
        for seed in seeds:
            found = run_seed(seed, calm_ic, args)
            results.append(found)
            print(json.dumps(found, default=str), flush=True)
    signal = [r for r in results if r["calm_ic"] > 0]
    null = [r for r in results if r["calm_ic"] == 0]
    summary = {
        "signal_seeds": len(signal),
        "slice_found": sum(any(f["kind"] == "regime_slice" for f in r["findings"]) for r in signal),
        "proposed": sum(bool(r["proposals"]) for r in signal),
        "holdout_accepted": sum(any(p["holdout"]["accepted"] for p in r["proposals"]) for r in signal),
        "null_seeds": len(null),
        "false_proposals": sum(bool(r["proposals"]) for r in null),
        "false_proposal_rate": (sum(bool(r["proposals"]) for r in null) / len(null)) if null else None,
        "names": args.names, "years": args.years, "calm_ic": args.calm_ic,
    }  # fmt: skip
    print(json.dumps(summary, indent=2))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps({"summary": summary, "seeds": results}, indent=2, default=str))
    print(f"written to {out_path}")


if __name__ == "__main__":
    main()
