"""Benchmark: the synthetic market generator (default 500 names x 10 years).

Prints and writes as JSON (``--out``, default $PROMETHEUS_DATA_ROOT/benchmarks/bench_synthetic.json): generation
seconds (in memory), file-writing seconds, output sizes, peak RSS, and the stylised facts of the generated market.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from prometheus.data.synthetic import SyntheticConfig, generate_market, write_vendor_files
from prometheus.data.synthetic.stats import stylised_facts


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux and bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def run(names: int, years: int, seed: int, repeats: int) -> dict[str, object]:
    """Time generation (best of ``repeats``) and one write to a temporary folder."""
    cfg = SyntheticConfig(n_names=names, years=years, seed=seed)
    timings = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        market = generate_market(cfg)
        timings.append(time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = write_vendor_files(market, tmp)
        write_s = time.perf_counter() - t0
        sizes = {str(p.relative_to(tmp)): p.stat().st_size for p in paths}
    man = market.truth.manifest
    return {
        "names": names,
        "years": years,
        "seed": seed,
        "sessions": man["sessions"],
        "price_rows": market.prices.height,
        "generation_seconds_best": min(timings),
        "generation_seconds_all": timings,
        "write_seconds": write_s,
        "output_megabytes": sum(sizes.values()) / 1e6,
        "file_bytes": sizes,
        "peak_rss_mb": _peak_rss_mb(),
        "designed_ic": man["designed_ic"],
        "realised_ic": man["realised_ic"],
        "regime_sessions": man["regimes"],
        "stylised_facts": stylised_facts(market.panel.returns.total, market.panel.regimes),
    }


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="JSON file or folder to write.")
    args = parser.parse_args()
    result = run(args.names, args.years, args.seed, args.repeats)
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks"
    if out.suffix != ".json":
        out.mkdir(parents=True, exist_ok=True)
        out = out / "bench_synthetic.json"
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"synthetic {args.names} names x {args.years} y ({result['sessions']} sessions, {result['price_rows']} rows): "
        f"generate {result['generation_seconds_best']:.2f} s, write {result['write_seconds']:.2f} s, "
        f"{result['output_megabytes']:.0f} MB, peak RSS {result['peak_rss_mb']:.0f} MB -> {out}"
    )
    print(json.dumps(result["stylised_facts"], indent=2))


if __name__ == "__main__":
    main()
