"""Assessment engine on the synthetic market, 500 names x 10 years: features, one fit, one scored session, and the
walk-forward run with quarterly and monthly retraining.

The synthetic market is generated and ingested once into a temporary lake (``ingest_synthetic``, bars known 5 min
after the close); each measurement then runs in its own child process reading that lake, so each peak RSS
(VmHWM, the process's high-water mark) is its own:

* ``features``: :func:`~prometheus.engines.assessment.features.feature_frame` over every session of the market (the
  whole panel), after loading the engine's history view.
* ``fit``: one model (``fit_periods`` of one refit period: feature frame, labels, screening, LightGBM) on the default
  ``train_sessions`` = 756-session window, for the period holding the last session.
* ``score``: that model (saved by ``fit`` as JSON, loaded here) scoring the last session through ``run_sessions``,
  plus the bare ``predict`` on that session's rows.
* ``walk``: for each ``--refit`` (months), ``fit_periods`` over every refit period of the scored span (all sessions
  after the engine's lookback), then ``run_sessions`` over the span with those models; times per model fit and per
  scored session, and the time spent in the engine's steps (feature frame, labels, training set, feature
  screening, LightGBM).

With ``--periods N`` the walk-forward covers only the first N refit periods of the span; the full run is then
estimated from the measured parts (per-model fit times the number of models, feature frame time scaled by its
sessions, scoring by scored sessions) and every such figure is named ``*_extrapolated``.

Only the ``alpha158`` and ``signals`` families by default: ``embedding``, ``profile``, ``event`` and ``news`` need
encoder, profile, event and news tables and ``engine`` the regime, stability and fragility outputs, none of which
a bare synthetic ingest produces. LightGBM runs on the config's default single thread. Timings on a shared machine
swing with its load (the 1-minute load average is recorded before each part).

Usage: python benchmarks/bench_assessment.py [--names 500] [--years 10] [--seed 42] [--refit 3 1]
       [--families alpha158 signals] [--periods N] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest import ingest_synthetic
from prometheus.data.known_at import decision_times
from prometheus.data.store import HistoricalStore
from prometheus.data.synthetic import SyntheticConfig
from prometheus.engines.assessment import AssessmentConfig, AssessmentEngine
from prometheus.engines.assessment import engine as engine_module
from prometheus.engines.assessment.features import feature_frame, feature_names
from prometheus.engines.assessment.model import AssessmentModel
from prometheus.engines.periods import period_of
from prometheus.engines.runner import history_view, run_sessions

DELAY = timedelta(minutes=5)
MARKET = Market.US_EQ


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM on Linux: ``ru_maxrss`` of a child keeps its parent's peak at the spawn (the
    parent here held the ingest's ~2.8 GB at 500 x 10), which would floor every part's figure."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kilobytes on Linux


class _Steps:
    """Seconds and calls of the engine's steps, by wrapping the names its module looks up at call time."""

    WRAPPED = ("feature_matrix", "forward_returns", "matrix_training_set", "fit_model")

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.each: dict[str, list[float]] = defaultdict(list)
        for name in (n for n in self.WRAPPED if hasattr(engine_module, n)):
            setattr(engine_module, name, self._wrap(name, getattr(engine_module, name)))
        fit = AssessmentEngine._fit
        AssessmentEngine._fit = self._wrap("fit_one_period", fit)  # type: ignore[method-assign]

    def _wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.each[name].append(time.perf_counter() - t0)
                self.seconds[name] += self.each[name][-1]
                self.calls[name] += 1

        return timed

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()
        self.each.clear()

    def report(self) -> dict[str, float]:
        out = {f"{k}_s": round(v, 3) for k, v in self.seconds.items()}
        out |= {f"{k}_calls": n for k, n in self.calls.items()}
        # Spread of the LightGBM fits (a shared machine's load shows here first).
        fits = sorted(self.each.get("fit_model", []))
        if len(fits) > 1:
            out |= {"fit_model_min_s": round(fits[0], 3), "fit_model_median_s": round(fits[len(fits) // 2], 3),
                    "fit_model_max_s": round(fits[-1], 3)}  # fmt: skip
        if "fit_one_period" in self.seconds:
            # Inside _fit, what is not labels, training set (screening included) or LightGBM: reading the bars.
            inner = sum(self.seconds.get(k, 0.0) for k in self.WRAPPED[1:])
            out["read_bars_and_filter_s"] = round(self.seconds["fit_one_period"] - inner, 3)
        return out


def _config(args: argparse.Namespace, refit: int) -> AssessmentConfig:
    return AssessmentConfig(refit_months=refit, families=tuple(args.families))


def _all_sessions(args: argparse.Namespace) -> list[date]:
    market = SyntheticConfig(n_names=args.names, years=args.years, seed=args.seed)
    return get_calendar().sessions(MARKET, market.start, market.end)


def _view(store: HistoricalStore, sessions: list[date], engine: AssessmentEngine) -> tuple[Any, float]:
    t0 = time.perf_counter()
    view = history_view(store, get_calendar(), MARKET, sessions, [engine], DELAY)
    return view, time.perf_counter() - t0


def _part_features(args: argparse.Namespace, store: HistoricalStore) -> dict[str, Any]:
    cal, cfg = get_calendar(), _config(args, 1)
    days = _all_sessions(args)
    view, load_s = _view(store, days, AssessmentEngine(cfg, cal, DELAY))
    rss_view = _peak_rss_mb()
    times = decision_times(cal, MARKET, days, DELAY)
    t0 = time.perf_counter()
    frame = feature_frame(view, cal, MARKET, days, times, cfg, {})
    seconds = time.perf_counter() - t0
    return {"sessions": len(days), "rows": frame.height, "features": len(feature_names(frame)),
            "history_view_s": round(load_s, 3), "seconds": round(seconds, 3),
            "us_per_row": round(1e6 * seconds / max(frame.height, 1), 2),
            "frame_mb": round(frame.estimated_size("mb"), 1), "peak_rss_after_view_mb": round(rss_view, 1),
            "peak_rss_mb": round(_peak_rss_mb(), 1)}  # fmt: skip


def _part_fit(args: argparse.Namespace, store: HistoricalStore) -> dict[str, Any]:
    cal, cfg = get_calendar(), _config(args, 1)
    steps = _Steps()
    days = _all_sessions(args)
    engine = AssessmentEngine(cfg, cal, DELAY)
    period = period_of(days[-1], cfg.refit_months)
    train = engine.training_sessions(MARKET, period)
    cutoff = cal.sessions_before(MARKET, period[0], 1)[-1]
    view, load_s = _view(store, cal.sessions(MARKET, train[0], cutoff), engine)
    t0 = time.perf_counter()
    (model,) = engine.fit_periods(view, MARKET, [period], {})
    seconds = time.perf_counter() - t0
    Path(args.model_file).write_text(model.to_json())
    return {"period": f"{period[0]}..{period[1]}", "train_sessions": model.sessions, "samples": model.samples,
            "features": len(model.features), "history_view_s": round(load_s, 3), "seconds": round(seconds, 3),
            **steps.report(), "peak_rss_mb": round(_peak_rss_mb(), 1)}  # fmt: skip


def _part_score(args: argparse.Namespace, store: HistoricalStore) -> dict[str, Any]:
    cal, cfg = get_calendar(), _config(args, 1)
    model = AssessmentModel.from_json(Path(args.model_file).read_text())
    engine = AssessmentEngine(cfg, cal, DELAY, models={(model.period_start, model.period_end): model})
    day = _all_sessions(args)[-1:]
    view, load_s = _view(store, day, engine)
    t0 = time.perf_counter()
    out, _ = run_sessions(engine, view, cal, MARKET, day, "bench", bar_delay=DELAY)
    seconds = time.perf_counter() - t0
    times = decision_times(cal, MARKET, day, DELAY)
    rows = feature_frame(view, cal, MARKET, day, times, cfg, {}).select(model.features).cast(pl.Float32).to_numpy()
    model.predict(rows)  # the booster is parsed on first use
    t0 = time.perf_counter()
    model.predict(rows)
    predict_s = time.perf_counter() - t0
    return {"session": str(day[0]), "names": out.frame.height, "history_view_s": round(load_s, 3),
            "seconds": round(seconds, 3), "predict_only_ms": round(1000 * predict_s, 2),
            "peak_rss_mb": round(_peak_rss_mb(), 1)}  # fmt: skip


def _part_walk(args: argparse.Namespace, store: HistoricalStore, refit: int) -> dict[str, Any]:
    cal, cfg = get_calendar(), _config(args, refit)
    steps = _Steps()
    engine = AssessmentEngine(cfg, cal, DELAY)
    all_days = _all_sessions(args)
    span = all_days[engine.lookback_sessions :]
    periods = sorted({period_of(d, refit) for d in span})
    sessions = span
    if args.periods and args.periods < len(periods):
        last = periods[args.periods - 1][1]
        sessions = [d for d in span if d <= last]
    run_periods = sorted({period_of(d, refit) for d in sessions})
    spans = [engine.training_sessions(MARKET, p) for p in run_periods]
    feature_sessions = len(cal.sessions(MARKET, spans[0][0], spans[-1][-1]))
    all_spans = [engine.training_sessions(MARKET, p) for p in periods]
    all_feature_sessions = len(cal.sessions(MARKET, all_spans[0][0], all_spans[-1][-1]))
    view, load_s = _view(store, sessions, engine)
    t0 = time.perf_counter()
    models = engine.fit_periods(view, MARKET, run_periods, {})
    fit_s = time.perf_counter() - t0
    fit_steps = steps.report()
    rss_fit = _peak_rss_mb()
    steps.reset()
    t0 = time.perf_counter()
    out, _ = run_sessions(engine, view, cal, MARKET, sessions, "bench", bar_delay=DELAY)
    score_s = time.perf_counter() - t0
    score_steps = steps.report()
    n = len(models)
    features_in_fit = fit_steps.get("feature_matrix_s", 0.0)
    per_model = (fit_s - features_in_fit) / n
    result: dict[str, Any] = {
        "refit_months": refit, "periods": n, "periods_full_span": len(periods), "capped": n < len(periods),
        "scored_sessions": len(sessions), "scored_sessions_full_span": len(span),
        "first_scored": str(sessions[0]), "last_scored": str(sessions[-1]), "rows": out.frame.height,
        "mean_samples_per_model": round(sum(m.samples for m in models) / n),
        "history_view_s": round(load_s, 3), "fit_periods_s": round(fit_s, 3),
        "fit_feature_frame_sessions": feature_sessions, "fit_steps": fit_steps,
        "s_per_model_fit_excl_features": round(per_model, 3), "s_per_model_fit_incl_features": round(fit_s / n, 3),
        "peak_rss_after_fit_mb": round(rss_fit, 1), "scoring_run_s": round(score_s, 3), "scoring_steps": score_steps,
        "ms_per_scored_session": round(1000 * score_s / len(sessions), 2),
        "total_s": round(load_s + fit_s + score_s, 3), "peak_rss_mb": round(_peak_rss_mb(), 1),
    }  # fmt: skip
    if n < len(periods):
        fit_full = per_model * len(periods) + features_in_fit * all_feature_sessions / feature_sessions
        score_full = score_s * len(span) / len(sessions)
        result |= {"fit_feature_frame_sessions_full_span": all_feature_sessions,
                   "fit_periods_s_extrapolated": round(fit_full, 1),
                   "scoring_run_s_extrapolated": round(score_full, 1),
                   "total_s_extrapolated": round(load_s + fit_full + score_full, 1)}  # fmt: skip
    return result


def _child(args: argparse.Namespace, part: str, lake: Path, model_file: Path, refit: int = 0) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--part", part, "--lake", str(lake), "--model-file", str(model_file),
           "--names", str(args.names), "--years", str(args.years), "--seed", str(args.seed),
           "--families", *args.families, "--refit", str(refit or 1), "--periods", str(args.periods)]  # fmt: skip
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"part {part} failed with exit {proc.returncode}")
    out = json.loads(proc.stdout.splitlines()[-1])
    out["load_average_1min_before"] = round(load, 2)
    out["child_wall_s"] = round(time.perf_counter() - t0, 2)
    print(f"-- {part}{f' refit={refit}' if refit else ''}: {json.dumps(out)}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--refit", type=int, nargs="+", default=[3, 1], choices=[1, 3, 6, 12],
                        help="Refit months of the walk-forward runs.")  # fmt: skip
    parser.add_argument("--families", nargs="+", default=["alpha158", "signals"])
    parser.add_argument("--periods", type=int, default=0,
                        help="Walk-forward over the first N refit periods (0 = all), extrapolate.")  # fmt: skip
    parser.add_argument("--skip", nargs="*", default=[], choices=["features", "fit", "walk"],
                        help="Parts not to run (score needs fit).")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--part", choices=["features", "fit", "score", "walk"], default=None, help=argparse.SUPPRESS)
    parser.add_argument("--lake", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--model-file", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        store = HistoricalStore(args.lake)
        parts = {"features": _part_features, "fit": _part_fit, "score": _part_score}
        out = _part_walk(args, store, args.refit[0]) if args.part == "walk" else parts[args.part](args, store)
        print(json.dumps(out))
        return
    report: dict[str, Any] = {
        "benchmark": "assessment", "names": args.names, "years": args.years, "seed": args.seed,
        "families": args.families, "periods_cap": args.periods or None,
        "machine": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "lightgbm_threads": AssessmentConfig().lightgbm.num_threads,
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        lake, model_file = Path(tmp) / "lake", Path(tmp) / "model.json"
        store = HistoricalStore(lake)
        t0 = time.perf_counter()
        ingest_synthetic(store, Path(tmp), SyntheticConfig(n_names=args.names, years=args.years, seed=args.seed),
                         bar_delay=DELAY)  # fmt: skip
        report["ingest_s"] = round(time.perf_counter() - t0, 2)
        print(f"-- ingest: {report['ingest_s']} s", flush=True)
        if "features" not in args.skip:
            report["features"] = _child(args, "features", lake, model_file)
        if "fit" not in args.skip:
            report["fit"] = _child(args, "fit", lake, model_file)
            report["score"] = _child(args, "score", lake, model_file)
        if "walk" not in args.skip:
            report["walk_forward"] = [_child(args, "walk", lake, model_file, refit) for refit in args.refit]
    print(json.dumps(report, indent=2))
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "assessment.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
