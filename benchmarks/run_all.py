"""Run every benchmark script in this folder at its full-size defaults, one after another.

Each script prints its figures and writes JSON under ``$PROMETHEUS_DATA_ROOT/benchmarks/``. Usage:
``python benchmarks/run_all.py [--only NAME ...]`` (names without ``.py``, e.g. ``bench_synthetic``).

A script named in :data:`ARGS` runs with those options instead: ``bench_assessment``'s full walk-forward (500 x 10
years, quarterly and monthly retraining: over a hundred LightGBM fits) takes many minutes on two cores, so here it
covers the first 4 refit periods of each and reports the full run as extrapolated figures.

Every ``*.py`` here runs, so new scripts need no registration. ``bench_backtest`` runs the whole ``prometheus demo``
chain (500 x 10 years: data, encoders, the seven backtest jobs and a portfolio-only re-run), about 15 minutes on
two cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Options of scripts that do not run at their full-size defaults here.
ARGS: dict[str, list[str]] = {"bench_assessment": ["--periods", "4"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help="Run only these scripts.")
    args = parser.parse_args()
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name)
    if args.only:
        scripts = [p for p in scripts if p.stem in set(args.only)]
    failed = []
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script), *ARGS.get(script.stem, [])])
        print(f"== {script.stem}: exit {rc} after {time.perf_counter() - t0:.1f} s", flush=True)
        if rc:
            failed.append(script.stem)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
