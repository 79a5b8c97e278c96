"""Run every benchmark script in this folder at its full-size defaults, one after another; ``make bench``.

Each script prints its figures and writes JSON under ``$PROMETHEUS_DATA_ROOT/benchmarks/``; this runner then
writes ``$PROMETHEUS_DATA_ROOT/benchmarks/summary.json``: per run, the script, its options, exit code, wall time and
the JSON files it wrote. Usage: ``python benchmarks/run_all.py [--only NAME ...] [--list]`` (names without ``.py``,
e.g. ``bench_synthetic``).

A script named in :data:`RUNS` runs once per option list there instead of once with none:

* ``bench_assessment``'s full walk-forward (500 x 10 years, quarterly and monthly retraining: over a hundred LightGBM
  fits) takes many minutes on two cores, so here it covers the first 4 refit periods of each and reports the full
  run as extrapolated figures;
* ``bench_scale`` runs the 2,000-name x 5-year chain twice, in process and on two Celery workers (RabbitMQ and
  PostgreSQL on 127.0.0.1, docs/distributed.md), each about half an hour on two cores.

Every ``*.py`` here runs, so new scripts need no registration. ``bench_backtest`` runs the whole ``prometheus demo``
chain (500 x 10 years: data, encoders, the seven backtest jobs and a portfolio-only re-run), about 15 minutes on
two cores. The whole of ``make bench`` takes a few hours on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Option lists of scripts that do not run once at their full-size defaults here.
RUNS: dict[str, list[list[str]]] = {
    "bench_assessment": [["--periods", "4"]],
    "bench_scale": [["--executor", "in_process"], ["--executor", "celery", "--workers", "2"]],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, help="Run only these scripts.")
    parser.add_argument("--list", action="store_true", help="Print the runs and exit.")
    args = parser.parse_args()
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name)
    if args.only:
        scripts = [p for p in scripts if p.stem in set(args.only)]
    plan = [(script, options) for script in scripts for options in RUNS.get(script.stem, [[]])]
    if args.list:
        for script, options in plan:
            print(" ".join([script.name, *options]))
        return 0
    results = Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks"
    results.mkdir(parents=True, exist_ok=True)
    summary: list[dict[str, object]] = []
    for script, options in plan:
        label = " ".join([script.stem, *options])
        print(f"== {label}", flush=True)
        before = {p: p.stat().st_mtime for p in results.glob("*.json")}
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script), *options])
        seconds = round(time.perf_counter() - t0, 1)
        written = sorted(str(p) for p in results.glob("*.json")
                         if p.name != "summary.json" and before.get(p) != p.stat().st_mtime)  # fmt: skip
        print(f"== {label}: exit {rc} after {seconds} s; wrote {', '.join(written) or 'nothing'}", flush=True)
        summary.append({"script": script.name, "options": options, "exit_code": rc, "seconds": seconds,
                        "json": written})  # fmt: skip
    (results / "summary.json").write_text(json.dumps(summary, indent=2))
    failed = [f"{s['script']} {' '.join(s['options'])}".strip() for s in summary if s["exit_code"]]
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
