"""Regime engine time for ten years of sessions, fits included (S&P 500 benchmark series from ``arch``).

Usage: python benchmarks/bench_regime.py [--out FILE] [--method jump|hmm]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from prometheus.calendar import get_calendar
from prometheus.core.types import Market
from prometheus.data.ingest.api import ingest_reference, publish_market
from prometheus.data.store import HistoricalStore
from prometheus.engines.regime import RegimeConfig, RegimeEngine, RegimeMethod
from prometheus.engines.runner import history_view, run_sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--method", choices=[m.value for m in RegimeMethod], default="jump")
    args = parser.parse_args()
    config = RegimeConfig(method=RegimeMethod(args.method))
    delay, cal = timedelta(minutes=5), get_calendar()
    with tempfile.TemporaryDirectory() as tmp:
        store = HistoricalStore(Path(tmp) / "lake")
        ingest_reference(store, bar_delay=delay)
        publish_market(store, Market.US_EQ, benchmark="SP500")
        sessions = cal.sessions(Market.US_EQ, date(2009, 1, 1), date(2018, 12, 31))
        t0 = time.perf_counter()
        engine = RegimeEngine(config, cal, delay)
        view = history_view(store, cal, Market.US_EQ, sessions, [engine], delay)
        out, _ = run_sessions(engine, view, cal, Market.US_EQ, sessions, "bench", bar_delay=delay)
        seconds = time.perf_counter() - t0
    result = {"benchmark": "regime_10y", "method": args.method, "sessions": len(sessions), "refits": 10,
              "seconds": round(seconds, 2), "ms_per_session": round(1000 * seconds / len(sessions), 2),
              "config_version": config.config_version}  # fmt: skip
    print(json.dumps(result))  # noqa: T201
    root = Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data"))
    out_path = args.out or root / "benchmarks" / "regime.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2))
    assert len(out.frame) == len(sessions)


if __name__ == "__main__":
    main()
