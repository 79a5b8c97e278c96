"""Four markets through the whole pipeline in one data root, then their books in one currency.

For each of US_EQ, EU_EQ, JP_EQ and FX_GLOB (their calendars, time zones and currencies): the synthetic market of
``--names`` x ``--years`` (FX_GLOB: at most its 105 pairs) written and ingested (``prometheus ingest synthetic
--market M``), then a backtest of the last ``--backtest-months`` months with the demo experiment
(``prometheus backtest --market M``: the seven engines, order planning, the RiskGate and the market simulator, as
Dagster runs in process). Then the multi-currency view of the four books in USD with the FX_GLOB rates known at each
close (``prometheus portfolio-view``).

Figures: per market, the ingest and backtest wall times, sessions, fills and the equity at the end in the market's
currency and in USD; the view's time and rows; the peak RSS of the process tree. Writes JSON (``--out``, default
``$PROMETHEUS_DATA_ROOT/benchmarks/markets.json``). ``--quick``: 30 names x 3 years, one month of backtest.

Usage: python benchmarks/bench_markets.py [--names 300] [--years 4] [--backtest-months 6] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_scale import TreeMemory  # noqa: E402 - the process-tree memory sampler of the same folder

#: The markets, in the order they run; FX_GLOB last so its rates cover every equity session.
MARKETS = ("US_EQ", "EU_EQ", "JP_EQ", "FX_GLOB")
#: FX_GLOB has this many synthetic pairs (prometheus.data.synthetic.fx.PAIRS).
FX_PAIRS = 105


def say(text: str) -> None:
    print(text, flush=True)


def run(args: argparse.Namespace, root: Path, result: dict[str, Any], memory: TreeMemory) -> None:
    os.environ["PROMETHEUS_DATA_ROOT"] = str(root)
    os.environ.pop("DAGSTER_HOME", None)

    import polars as pl
    import sqlalchemy as sa

    from prometheus.backtest.experiment import demo_experiment
    from prometheus.calendar import get_calendar
    from prometheus.core.settings import load_settings
    from prometheus.core.time import utc_now
    from prometheus.core.types import Market
    from prometheus.data.store import HistoricalStore
    from prometheus.data.synthetic import SyntheticConfig
    from prometheus.data.synthetic.profiles import market_config
    from prometheus.data.timemachine import TimeMachine
    from prometheus.reporting.multi_currency import PortfolioViewRequest, build_portfolio_view
    from prometheus.runtime.store import RuntimeStore
    from prometheus.runtime.tables import backtest_daily, fills
    from prometheus_cli import flows

    settings = load_settings()
    with RuntimeStore(settings.effective_runtime_db_url) as runtime:
        runtime.upgrade()
    config = demo_experiment()
    result["markets"] = {}
    for name in MARKETS:
        market = Market(name)
        memory.stage = name
        names = min(args.names, FX_PAIRS) if market is Market.FX_GLOB else args.names
        synthetic = market_config(market, {"n_names": names, "years": args.years, "seed": args.seed})
        assert isinstance(synthetic, SyntheticConfig)
        t0 = time.perf_counter()
        flows.ingest_synthetic(settings, synthetic, lambda _: None, market)
        ingest_s = time.perf_counter() - t0
        end = get_calendar().sessions(market, synthetic.start, synthetic.end)[-1]
        months = end.year * 12 + end.month - 1 - (args.backtest_months - 1)
        first = date(months // 12, months % 12 + 1, 1)
        t0 = time.perf_counter()
        out = flows.backtest(settings, market, first, end, "bench_markets", config, lambda _: None, "bench_markets")
        backtest_s = time.perf_counter() - t0
        with RuntimeStore(settings.effective_runtime_db_url) as runtime, runtime.read() as conn:
            daily = conn.execute(sa.select(backtest_daily.c.session, backtest_daily.c.equity).where(
                backtest_daily.c.experiment == "bench_markets", backtest_daily.c.market == name)).all()  # fmt: skip
            n_fills = conn.execute(sa.select(sa.func.count()).select_from(fills).where(
                fills.c.experiment == "bench_markets", fills.c.market == name)).scalar_one()  # fmt: skip
        last = max(daily)
        row = {"names": names, "years": args.years, "sessions": len(out.sessions), "first": str(out.sessions[0]),
               "last": str(out.sessions[-1]), "ingest_seconds": round(ingest_s, 1),
               "backtest_seconds": round(backtest_s, 1), "fills": n_fills,
               "equity_end_local": round(float(last[1]), 2)}  # fmt: skip
        result["markets"][name] = row
        say(f"# {name}: {names} names x {args.years} years; ingest {ingest_s:.1f} s; backtest {backtest_s:.1f} s over "
            f"{len(out.sessions)} sessions ({out.sessions[0]}..{out.sessions[-1]}); {n_fills} fills; equity at the "
            f"end {row['equity_end_local']:,.0f}")  # fmt: skip

    memory.stage = "view"
    t0 = time.perf_counter()
    request = PortfolioViewRequest(experiment="bench_markets", markets=tuple(Market(m) for m in MARKETS), base="USD")
    with RuntimeStore(settings.effective_runtime_db_url) as runtime:
        view = build_portfolio_view(runtime, TimeMachine(HistoricalStore(settings.lake_path), utc_now()),
                                    get_calendar(), request)  # fmt: skip
    view_s = time.perf_counter() - t0
    ends = view.markets.sort("session").group_by("market").last()
    for market, equity, rate, fx_date in ends.select("market", "equity", "fx_rate", "fx_date").iter_rows():
        result["markets"][market] |= {"equity_end_usd": round(float(equity), 2), "fx_rate_end": float(rate),
                                      "fx_date_end": str(fx_date)}  # fmt: skip
    total = view.total.sort("date")
    weights = view.currencies.filter(pl.col("date") == total["date"][-1]).select("currency", "equity_weight")
    result["view"] = {"seconds": round(view_s, 2), "market_rows": view.markets.height, "total_rows": total.height,
                      "currency_rows": view.currencies.height,
                      "total_equity_end_usd": round(float(total["equity"][-1]), 2),
                      "currency_weights_end": {c: round(float(w), 4) for c, w in weights.iter_rows()}}  # fmt: skip
    say(
        f"# view: {view_s:.2f} s; {view.markets.height} market rows, {total.height} days; total equity at the end "
        f"{result['view']['total_equity_end_usd']:,.0f} USD; currency weights {result['view']['currency_weights_end']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=300)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backtest-months", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="smoke run: 30 names x 3 years, 1 month of backtest")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.names, args.years, args.backtest_months = 30, 3, 1
    out = args.out or Path(os.environ.get("PROMETHEUS_DATA_ROOT", "data")) / "benchmarks" / "markets.json"
    result: dict[str, Any] = {"benchmark": "markets", "cpu_count": os.cpu_count(), "names": args.names,
                              "years": args.years, "backtest_months": args.backtest_months, "quick": args.quick,
                              "load_average_start": os.getloadavg()}  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="bench_markets_"))
    t0 = time.perf_counter()
    with TreeMemory(1.0) as memory:
        try:
            run(args, root, result, memory)
        finally:
            result["total_seconds"] = round(time.perf_counter() - t0, 1)
            result["load_average_end"] = os.getloadavg()
    result |= memory.figures()
    shutil.rmtree(root, ignore_errors=True)
    say(f"# total {result['total_seconds']} s; peak RSS of the process tree {result['peak_tree_rss_mb']} MB")
    say(json.dumps(result, indent=2, default=str))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    say(f"written {out}")


if __name__ == "__main__":
    main()
