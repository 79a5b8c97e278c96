"""The whole chain as ``prometheus demo`` runs it: data, the six backtest jobs, a portfolio-only re-run.

For a synthetic market of ``--names`` x ``--years`` in a fresh data root (``PROMETHEUS_DATA_ROOT`` set to a new
folder, its own Dagster instance and SQLite runtime store), through the functions the CLI calls:

1. **data**: the runtime store upgraded, then :func:`prometheus_cli.flows.demo_flows` (the synthetic delivery
   written and ingested, trading sessions, reference series, numeric encoder per period, embeddings and profiles,
   news embeddings of the last ``--news-months`` months);
2. **backtest** ``bench`` with :func:`~prometheus.backtest.experiment.demo_experiment` over the market's last
   ``--backtest-years`` (at least ``--warmup-years`` after its start; what ``prometheus demo`` runs):
   :func:`prometheus_cli.flows.backtest`, i.e. the jobs regime_model, engines, assessment_model, assessment,
   portfolio and backtest, then the tear sheet;
3. **portfolio-only re-run** ``bench-rebalance10``: the same configs but ``portfolio: {rebalance_every: 10}``, a new
   experiment over the same range, which must reuse the upstream engines' outputs.

Figures, each printed as soon as it is known: wall time of every Dagster run (``run_job`` is wrapped) and of each
stage; per run the Dagster bookkeeping share, ``(run wall time - sum of step durations) / run wall time``, where
the run wall time is the launcher's (execute_in_process plus the event polling and the report read) and a step's
duration is STEP_START to STEP_SUCCESS in the run's event log; and the part of the steps spent outside the asset
function, estimated from the event log as the time from STEP_START to the step's first input loaded (or STEP_START)
plus the time from its first STEP_OUTPUT to STEP_SUCCESS (IO manager, materialisation events, checks in the step);
peak RSS of the process and of its children; the headline metrics of the strategy, the benchmark and the 1/N
baseline; the report's path; the re-run's wall time and which engines it reused.

Writes JSON (``--out``, default ``$PROMETHEUS_DATA_ROOT/benchmarks/backtest.json``, the data root of the caller,
not the temporary one). ``--quick`` is a smoke run (30 names x 3 years, 1 month of news). The temporary data root
is removed at the end unless ``--keep`` (or ``--root DIR``, a new folder that is kept).

Usage: python benchmarks/bench_backtest.py [--names 500] [--years 10] [--backtest-years 3] [--warmup-years 2]
       [--news-months 12]
       [--quick] [--no-rerun] [--root DIR | --keep] [--verbose] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The demo's experiment overrides (prometheus.backtest.experiment.demo_experiment); the re-run changes portfolio.
RERUN_PORTFOLIO = {"rebalance_every": 10}
STAGES = ("regime_model", "engines", "assessment_model", "assessment", "portfolio", "backtest")
HEADLINE = ("annual_return", "annual_volatility", "sharpe", "sortino", "max_drawdown", "calmar", "hit_rate",
            "annual_turnover", "cost_drag", "mean_ic")  # fmt: skip


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(who).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def say(text: str) -> None:
    print(text, flush=True)


def _step_times(instance: Any, run_id: str) -> dict[str, Any]:
    """Steps of a run from its event log: duration, and the estimated time outside the asset function.

    Each gap between two consecutive events of a step is charged to the event that ends it: to Dagster when that
    is an input loaded, an output handled, a materialisation, the step's end (framework work), else (an output
    yielded, a check evaluated, a log line) to the asset's own code.
    """
    import dagster as dg

    from prometheus_assets.launch import _all_records

    kinds = dg.DagsterEventType
    framework = {kinds.LOADED_INPUT, kinds.STEP_INPUT, kinds.HANDLED_OUTPUT, kinds.ASSET_MATERIALIZATION,
                 kinds.ASSET_MATERIALIZATION_PLANNED, kinds.STEP_SUCCESS, kinds.STEP_FAILURE}  # fmt: skip
    steps: dict[str, list[tuple[float, Any]]] = {}
    run_start = run_end = None
    for record in _all_records(instance, run_id):
        entry = record.event_log_entry
        event = entry.dagster_event
        kind = event.event_type if event is not None else None
        if kind == kinds.RUN_START:
            run_start = entry.timestamp
        elif kind in (kinds.RUN_SUCCESS, kinds.RUN_FAILURE):
            run_end = entry.timestamp
        key = entry.step_key
        if key:
            steps.setdefault(key, []).append((entry.timestamp, kind))
    out: dict[str, Any] = {"steps": {}}
    total = outside = 0.0
    for key, events in steps.items():
        starts = [ts for ts, kind in events if kind == kinds.STEP_START]
        if not starts:
            continue
        seconds = framework_seconds = 0.0
        previous = starts[0]
        for ts, kind in events:
            if ts < previous:
                continue
            if kind in framework:
                framework_seconds += ts - previous
            seconds += ts - previous
            previous = ts
        total += seconds
        outside += framework_seconds
        out["steps"][key] = {"seconds": round(seconds, 2), "outside_asset_fn_seconds": round(framework_seconds, 2)}
    out["step_seconds"] = round(total, 2)
    out["step_outside_asset_fn_seconds"] = round(outside, 2)
    out["run_event_seconds"] = round(run_end - run_start, 2) if run_start and run_end else None
    return out


class Recorder:
    """Wraps ``prometheus_cli.flows.run_job``: every run's wall time and step times, printed as each run ends."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.stage = "data"

    def install(self) -> None:
        from prometheus_cli import flows

        original = flows.run_job

        def timed(defs: Any, instance: Any, job: str, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            report = original(defs, instance, job, **kwargs)
            wall = time.perf_counter() - t0
            row = {"stage": self.stage, "job": job, "run_id": report.run_id, "wall_seconds": round(wall, 2),
                   "report_seconds": round(report.seconds, 2), **_step_times(instance, report.run_id)}  # fmt: skip
            row["dagster_share"] = round((wall - row["step_seconds"]) / wall, 3) if wall > 0 else None
            self.runs.append(row)
            say(f"## run {job} ({self.stage}): {wall:.1f} s wall, steps {row['step_seconds']:.1f} s "
                f"(outside asset fn {row['step_outside_asset_fn_seconds']:.1f} s), Dagster share "
                f"{100 * (row['dagster_share'] or 0):.1f} %, peak RSS {_peak_rss_mb()} MB")  # fmt: skip
            return report

        flows.run_job = timed

    def summary(self, stage: str) -> dict[str, Any]:
        runs = [r for r in self.runs if r["stage"] == stage]
        wall = sum(r["wall_seconds"] for r in runs)
        steps = sum(r["step_seconds"] for r in runs)
        outside = sum(r["step_outside_asset_fn_seconds"] for r in runs)
        return {"runs": len(runs), "run_wall_seconds": round(wall, 1), "step_seconds": round(steps, 1),
                "dagster_share": round((wall - steps) / wall, 3) if wall else None,
                "outside_asset_fn_share": round((wall - steps + outside) / wall, 3) if wall else None}  # fmt: skip


def _headline(metrics: dict[str, float]) -> dict[str, dict[str, float | None]]:
    return {series: {k: metrics.get(f"{series}.{k}") for k in HEADLINE} for series in ("strategy", "benchmark",
                                                                                       "baseline")}  # fmt: skip


def _print_headline(table: dict[str, dict[str, float | None]]) -> None:
    say(f"  {'':<18}{'strategy':>12}{'benchmark':>12}{'1/N':>12}")
    for k in HEADLINE:
        cells = [table[s][k] for s in ("strategy", "benchmark", "baseline")]
        if all(c is None for c in cells):
            continue
        say(f"  {k:<18}" + "".join(f"{c:>12.4f}" if c is not None else f"{'-':>12}" for c in cells))


def run(args: argparse.Namespace, root: Path, result: dict[str, Any]) -> None:
    os.environ["PROMETHEUS_DATA_ROOT"] = str(root)
    os.environ.pop("DAGSTER_HOME", None)  # the instance of the fresh data root

    from prometheus.backtest.experiment import ExperimentConfig, demo_experiment, demo_period
    from prometheus.core.settings import load_settings
    from prometheus.core.types import Market
    from prometheus.data.synthetic import SyntheticConfig
    from prometheus.runtime.store import RuntimeStore
    from prometheus_assets.definitions import configured_markets
    from prometheus_cli import flows

    recorder = Recorder()
    recorder.install()
    result["runs"] = recorder.runs
    echo: Callable[[str], None] = (lambda line: say(f"    | {line}")) if args.verbose else (lambda line: None)
    settings = load_settings()
    synthetic = SyntheticConfig.from_mapping({"n_names": args.names, "years": args.years, "seed": args.seed},
                                             source="bench_backtest")  # fmt: skip
    first, _ = demo_period(synthetic.start, synthetic.end, args.backtest_years, args.warmup_years)
    result["market"] = {"start": str(synthetic.start), "end": str(synthetic.end), "backtest_first": str(first)}
    say(f"data root {root}; market {args.names} names x {args.years} years {synthetic.start}..{synthetic.end}; "
        f"backtest from {first}")  # fmt: skip

    t0 = time.perf_counter()
    with RuntimeStore(settings.effective_runtime_db_url) as runtime:
        runtime.upgrade()
    flows.demo_flows(settings, synthetic, echo, configured_markets(settings).markets, args.news_months)
    data = time.perf_counter() - t0
    result["data"] = {"seconds": round(data, 1), **recorder.summary("data"), "peak_rss_mb": _peak_rss_mb()}
    say(f"# stage data (synthetic + ingest + encoders): {data:.1f} s; {result['data']}")

    config = demo_experiment()
    recorder.stage = "backtest"
    out = flows.backtest(settings, Market.US_EQ, first, synthetic.end, "bench", config, echo, "bench_backtest")
    bt_runs = [r for r in recorder.runs if r["stage"] == "backtest"]
    result["backtest"] = {
        "experiment": out.experiment, "sessions": len(out.sessions), "first": str(out.sessions[0]),
        "last": str(out.sessions[-1]), "seconds": round(out.seconds, 1),
        "jobs": {r["job"]: r["wall_seconds"] for r in bt_runs},
        "outside_runs_seconds": round(out.seconds - sum(r["wall_seconds"] for r in bt_runs), 1),
        **recorder.summary("backtest"), "ms_per_session": round(1000 * out.seconds / len(out.sessions), 1),
        "reused": dict(out.reused), "report": str(out.report), "headline": _headline(dict(out.metrics)),
        "peak_rss_mb": _peak_rss_mb(),
    }  # fmt: skip
    b = result["backtest"]
    say(f"# stage backtest: {out.seconds:.1f} s for {len(out.sessions)} sessions ({out.sessions[0]}.."
        f"{out.sessions[-1]}); runs {b['run_wall_seconds']} s, outside the runs (definitions, experiment record, "
        f"tear sheet) {b['outside_runs_seconds']} s; Dagster share {b['dagster_share']}")  # fmt: skip
    for r in bt_runs:
        say(f"  {r['job']:<32}{r['wall_seconds']:>9.1f} s  Dagster share {100 * (r['dagster_share'] or 0):5.1f} %")
    _print_headline(b["headline"])
    say(f"report: {out.report}")

    if not args.no_rerun:
        demo = config.model_dump(mode="json")
        mapping = {k: demo[k] for k in ("assessment", "portfolio", "scenarios")}
        mapping["portfolio"] = {**mapping["portfolio"], **RERUN_PORTFOLIO}
        rerun_cfg = ExperimentConfig.from_mapping(mapping, source="bench_backtest re-run")
        changed = sorted(k for k, v in rerun_cfg.versions().items() if config.versions().get(k) != v)
        recorder.stage = "rerun"
        again = flows.backtest(settings, Market.US_EQ, first, synthetic.end, "bench-rebalance10", rerun_cfg, echo,
                               "bench_backtest: portfolio only")  # fmt: skip
        re_runs = [r for r in recorder.runs if r["stage"] == "rerun"]
        result["rerun"] = {
            "experiment": again.experiment, "change": {"portfolio": RERUN_PORTFOLIO}, "changed_versions": changed,
            "seconds": round(again.seconds, 1), "jobs": {r["job"]: r["wall_seconds"] for r in re_runs},
            **recorder.summary("rerun"), "reused": dict(again.reused), "report": str(again.report),
            "headline": _headline(dict(again.metrics)), "peak_rss_mb": _peak_rss_mb(),
        }  # fmt: skip
        reused = [k for k, v in again.reused.items() if v]
        computed = [k for k, v in again.reused.items() if not v]
        say(f"# stage portfolio-only re-run: {again.seconds:.1f} s (first run {out.seconds:.1f} s); changed "
            f"versions {changed}; reused {reused}; computed {computed}")  # fmt: skip
        for r in re_runs:
            say(f"  {r['job']:<32}{r['wall_seconds']:>9.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backtest-years", type=int, default=3, help="years backtested, the last ones (as the demo)")
    parser.add_argument("--warmup-years", type=int, default=2,
                        help="least history before the backtest starts (as the demo)")  # fmt: skip
    parser.add_argument("--news-months", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="smoke run: 30 names x 3 years, 1 month of news")
    parser.add_argument("--no-rerun", action="store_true", help="skip the portfolio-only re-run")
    parser.add_argument("--root", type=Path, default=None, help="data root to create (kept); default a temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data root (and the report)")
    parser.add_argument("--verbose", action="store_true", help="print the runs' progress lines")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.names, args.years, args.news_months = 30, 3, 1
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "backtest.json"
    result: dict[str, Any] = {"benchmark": "backtest", "cpu_count": os.cpu_count(), "quick": args.quick,
                              "names": args.names, "years": args.years, "warmup_years": args.warmup_years,
                              "backtest_years": args.backtest_years,
                              "news_months": args.news_months, "load_average_start": os.getloadavg()}  # fmt: skip
    if args.root is not None:
        if args.root.exists() and any(args.root.iterdir()):
            parser.error(f"--root {args.root} is not empty")
        root, keep = args.root.resolve(), True
    else:
        root, keep = Path(tempfile.mkdtemp(prefix="bench_backtest_")), args.keep
    t0 = time.perf_counter()
    try:
        run(args, root, result)
    finally:
        result["total_seconds"] = round(time.perf_counter() - t0, 1)
        result["peak_rss_mb"] = _peak_rss_mb()
        result["peak_rss_children_mb"] = _peak_rss_mb(resource.RUSAGE_CHILDREN)
        result["load_average_end"] = os.getloadavg()
        result["data_root"] = str(root) if keep else None
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
        say(f"# total {result['total_seconds']} s; peak RSS {result['peak_rss_mb']} MB (children "
            f"{result['peak_rss_children_mb']} MB); load {result['load_average_end']}")  # fmt: skip
        say(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2, default=str))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, default=str))
        say(f"written {out}")


if __name__ == "__main__":
    main()
