"""Peak memory of the assessment-model stage as a backfill runs it: every refit period of the last
``--backtest-years`` of a synthetic market fitted in one ``fit_periods`` call (what the ``assessment_model`` asset
does for a single-run backfill), then those models scoring the range in one run.

The synthetic market is generated and ingested once into a lake (``--lake DIR`` reuses one written before by this
script, ``--keep-lake DIR`` writes it there), then the stage runs in a child process reading it, so the peak RSS
(VmHWM, the process's high-water mark) is the stage's own and not the ingest's. In the child a thread samples RSS
every 20 ms and charges each sample to the engine step running (feature frame, labels, training set, screening,
LightGBM fit, scoring), so the figures say where the peak is, not only how high it is.

``--dump DIR`` writes every model (its JSON, booster included) and the scores of the scoring run to DIR: two runs
(before and after a change) must write identical files for the change to leave results alone.

Families: ``alpha158``, ``residual`` and ``signals`` by default, those a bare synthetic ingest feeds (the others need
the encoder, profile, event, news and upstream engine outputs of the full chain).

Usage: python benchmarks/bench_assessment_memory.py [--names 2000] [--years 5] [--backtest-years 3] [--refit 3]
       [--periods N] [--lake DIR | --keep-lake DIR] [--dump DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

DELAY = timedelta(minutes=5)
#: The engine's steps, by the names its module calls them (each sampled RSS is charged to the innermost running).
STEPS = ("feature_matrix", "forward_returns", "matrix_training_set", "fit_model")


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


class _Sampler:
    """RSS sampled on a thread, each sample charged to the innermost engine step running at that moment."""

    def __init__(self, engine_module: Any) -> None:
        self.stack: list[str] = ["other"]
        self.peak: dict[str, float] = defaultdict(float)
        self.seconds: dict[str, float] = defaultdict(float)
        self._stop = threading.Event()
        for name in (n for n in STEPS if hasattr(engine_module, n)):
            setattr(engine_module, name, self._wrap(name, getattr(engine_module, name)))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.stack.append(name)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t0
                self.stack.pop()

        return wrapped

    def phase(self, name: str) -> None:
        self.stack[0] = name

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            step = self.stack[-1]
            self.peak[step] = max(self.peak[step], _rss_mb("VmRSS"))

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        return {"peak_rss_mb_by_step": {k: round(v, 1) for k, v in sorted(self.peak.items(), key=lambda kv: -kv[1])},
                "seconds_by_step": {k: round(v, 2) for k, v in self.seconds.items()}}  # fmt: skip


def _stage(args: argparse.Namespace) -> dict[str, Any]:
    """The child: fit every period of the backtest range in one call, then score the range."""
    import polars as pl

    from prometheus.calendar import get_calendar
    from prometheus.core.types import Market
    from prometheus.data.store import HistoricalStore
    from prometheus.data.synthetic import SyntheticConfig
    from prometheus.engines.assessment import AssessmentConfig, AssessmentEngine
    from prometheus.engines.assessment import engine as engine_module
    from prometheus.engines.periods import period_of
    from prometheus.engines.runner import history_view, run_sessions

    market, cal = Market.US_EQ, get_calendar()
    sampler = _Sampler(engine_module)
    synthetic = SyntheticConfig(n_names=args.names, years=args.years, seed=args.seed)
    days = cal.sessions(market, synthetic.start, synthetic.end)
    scored = days[-round(252 * args.backtest_years) :]
    cfg = AssessmentConfig(refit_months=args.refit, families=tuple(args.families))
    engine = AssessmentEngine(cfg, cal, DELAY)
    periods = sorted({period_of(d, args.refit) for d in scored})[: args.periods or None]
    scored = [d for d in scored if d <= periods[-1][1]]
    spans = [engine.training_sessions(market, p) for p in periods]
    store = HistoricalStore(args.lake)
    t0 = time.perf_counter()
    sampler.phase("history_view")
    view = history_view(store, cal, market, cal.sessions(market, spans[0][0], scored[-1]), [engine], DELAY)
    rss_view = _rss_mb("VmRSS")
    sampler.phase("fit_periods_other")
    t1 = time.perf_counter()
    models = engine.fit_periods(view, market, periods, {})
    fit_s = time.perf_counter() - t1
    peak_fit = _rss_mb("VmHWM")
    sampler.phase("scoring")
    t1 = time.perf_counter()
    out, _ = run_sessions(engine, view, cal, market, scored, "bench", bar_delay=DELAY)
    score_s = time.perf_counter() - t1
    total_s = time.perf_counter() - t0
    if args.dump:
        dump = Path(args.dump)
        dump.mkdir(parents=True, exist_ok=True)
        for m in models:
            (dump / f"model_{m.period_start}.json").write_text(m.to_json())
        out.frame.drop("decision_time").unnest("details").sort("session", "instrument").write_csv(dump / "scores.csv")
    steps = sampler.stop()
    return {
        "periods": len(periods), "first_period": str(periods[0][0]), "scored_sessions": len(scored),
        "mean_samples_per_model": round(sum(m.samples for m in models) / len(models)),
        "features": len(models[0].features) if models else 0,
        "rss_after_history_view_mb": round(rss_view, 1), "peak_rss_fit_periods_mb": round(peak_fit, 1),
        "fit_periods_s": round(fit_s, 1), "scoring_s": round(score_s, 1), "total_s": round(total_s, 1),
        "score_rows": out.frame.height, "peak_rss_mb": round(_rss_mb("VmHWM"), 1), **steps,
        "polars": pl.__version__,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=2000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backtest-years", type=float, default=3.0)
    parser.add_argument("--refit", type=int, default=3, choices=[1, 3, 6, 12])
    parser.add_argument("--periods", type=int, default=0, help="Only the first N refit periods (0 = all).")
    parser.add_argument("--families", nargs="+", default=["alpha158", "residual", "signals"])
    parser.add_argument("--lake", type=Path, default=None, help="A lake written before by --keep-lake.")
    parser.add_argument("--keep-lake", type=Path, default=None, help="Write the lake here and keep it.")
    parser.add_argument("--dump", type=Path, default=None, help="Write the models and scores here.")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--stage", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(_stage(args)))
        return
    report: dict[str, Any] = {"benchmark": "assessment_memory", "names": args.names, "years": args.years,
                              "backtest_years": args.backtest_years, "refit_months": args.refit,
                              "families": args.families, "cpu_count": os.cpu_count()}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        lake = args.lake
        if lake is None:
            from prometheus.data.ingest import ingest_synthetic
            from prometheus.data.store import HistoricalStore
            from prometheus.data.synthetic import SyntheticConfig

            root = args.keep_lake or Path(tmp)
            lake = root / "lake"
            t0 = time.perf_counter()
            ingest_synthetic(HistoricalStore(lake), root,
                             SyntheticConfig(n_names=args.names, years=args.years, seed=args.seed),
                             bar_delay=DELAY)  # fmt: skip
            report["ingest_s"] = round(time.perf_counter() - t0, 1)
        cmd = [sys.executable, __file__, "--stage", "--lake", str(lake), "--names", str(args.names),
               "--years", str(args.years), "--seed", str(args.seed), "--backtest-years", str(args.backtest_years),
               "--refit", str(args.refit), "--periods", str(args.periods), "--families", *args.families,
               *(["--dump", str(args.dump)] if args.dump else [])]  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"the stage failed with exit {proc.returncode}")
        report["stage"] = json.loads(proc.stdout.splitlines()[-1])
        report["stage_wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=2))
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "assessment_memory.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
