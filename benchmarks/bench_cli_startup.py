"""Benchmark: start-up time of the ``prometheus`` command line.

Runs each command as a fresh subprocess (``--repeats`` times after one warm-up run that fills the bytecode and
file caches) and reports the minimum and median wall-clock seconds and the median CPU seconds: ``prometheus --help``,
``prometheus calendar state US_EQ`` and ``prometheus config show``. Prints the figures and writes them as JSON
(``--out``, default $PROMETHEUS_DATA_ROOT/benchmarks/bench_cli_startup.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: The commands timed: label -> arguments of ``prometheus``.
COMMANDS: dict[str, list[str]] = {
    "help": ["--help"],
    "calendar_state": ["calendar", "state", "US_EQ"],
    "config_show": ["config", "show"],
}

# Same as the console script, for an environment where it is not installed next to the interpreter.
_ENTRY = "import sys; from prometheus_cli import main; sys.argv[0] = 'prometheus'; sys.exit(main())"


def entry_point() -> list[str]:
    """The ``prometheus`` console script of this interpreter's environment, or the equivalent ``python -c``."""
    script = Path(sys.executable).parent / "prometheus"
    if script.exists():
        return [str(script)]
    found = shutil.which("prometheus")
    return [found] if found else [sys.executable, "-c", _ENTRY]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(argv: list[str], repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of ``repeats`` runs of ``argv`` after one untimed warm-up run.

    CPU time is reported too because on a shared machine the wall clock also measures the other processes.
    Fails on a non-zero exit.
    """
    subprocess.run(argv, check=True, capture_output=True)
    wall, cpu = [], []
    for _ in range(repeats):
        c0, t0 = _children_cpu(), time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        wall.append(time.perf_counter() - t0)
        cpu.append(_children_cpu() - c0)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    root = Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data"))
    parser.add_argument("--out", type=Path, default=root / "benchmarks" / "bench_cli_startup.json")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    entry = entry_point()
    results: dict[str, float | int | str] = {
        "repeats": args.repeats,
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count() or 0,
    }
    for label, command in COMMANDS.items():
        wall, cpu = time_command([*entry, *command], args.repeats)
        results[f"{label}_min_s"] = min(wall)
        results[f"{label}_median_s"] = statistics.median(wall)
        results[f"{label}_cpu_median_s"] = statistics.median(cpu)
    for key, value in results.items():
        print(f"{key:<28} {value:.3f}" if isinstance(value, float) else f"{key:<28} {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
