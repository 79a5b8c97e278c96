"""Cost columns of ``backtest_daily``: finite on every session and read back the same on SQLite and PostgreSQL.

An order for a name without a bar on its session does not fill; its spread and impact used to come out as NaN
(NaN price x 0 shares), which made the account's cumulative spread and impact NaN for the rest of the window. SQLite
stores NaN as NULL (the metrics count a null cost as none) while PostgreSQL keeps NaN (the session's total cost is
void), so the same backtest had a different cost drag on each backend.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from prometheus.backtest.config import BacktestConfig
from prometheus.backtest.experiment import read_daily
from prometheus.backtest.runner import AccountState, WindowInputs, run_window
from prometheus.backtest.schema import COST_COLUMNS
from prometheus.core.types import Market
from prometheus.reporting.metrics import compute_metrics
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables import backtest_daily
from tests.support.execution_kit import sessions as weekdays

NAMES = ("AAA", "BBB", "CCC")


DAYS = weekdays(40, date(2020, 1, 1))
REBALANCES = frozenset(DAYS[i] for i in (24, 29, 34))
#: BBB has no bar on the session after the first rebalance: its order finds no price there.
GAP = (DAYS[25], "BBB")
LIMITS = {"enforce_universe": False, "max_position_pct_equity": 0.5, "max_position_notional": None,
          "max_order_notional": None}  # fmt: skip
CONFIG = BacktestConfig(limits=BacktestConfig().limits.model_copy(update=LIMITS))


def _bars() -> pl.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for j, name in enumerate(NAMES):
        close = 40.0 * (j + 1) * np.exp(np.cumsum(rng.normal(0.0005, 0.015, len(DAYS))))
        opens = close * np.exp(rng.normal(0, 0.004, len(DAYS)))
        for i, d in enumerate(DAYS):
            if (d, name) != GAP:
                rows.append({"date": d, "symbol": name, "open": opens[i], "high": max(opens[i], close[i]) * 1.01,
                             "low": min(opens[i], close[i]) * 0.99, "close": close[i], "volume": 2e6})  # fmt: skip
    return pl.DataFrame(rows)


def _window() -> pl.DataFrame:
    sessions = DAYS[21:40]
    bars = _bars()
    close = {d: datetime(d.year, d.month, d.day, 21, tzinfo=UTC) for d in DAYS}
    targets = [{"session": d, "instrument": n, "weight": w} for d in DAYS for n, w in zip(NAMES, (0.3, 0.3, 0.3),
                                                                                          strict=True)]  # fmt: skip
    returns = bars.sort("symbol", "date").with_columns(
        (pl.col("close") / pl.col("close").shift(1).over("symbol") - 1).alias("total_return")
    )
    inputs = WindowInputs(
        sessions=sessions,
        prior=DAYS[20],
        bars=bars,
        actions=pl.DataFrame(schema={"date": pl.Date, "symbol": pl.String, "action": pl.String, "value": pl.Float64}),
        returns=returns.select("date", "symbol", "total_return"),
        targets=pl.DataFrame(targets),
        rebalances=REBALANCES,
        universe={d: frozenset(NAMES) for d in DAYS},
        regimes={d: "calm" for d in DAYS},
        session_ts=close,
        decision_times={d: t + timedelta(minutes=5) for d, t in close.items()},
    )
    return run_window("exp", "US_EQ", CONFIG, inputs, AccountState.initial(CONFIG.initial_capital), None).daily


def _write(url: str, daily: pl.DataFrame) -> RuntimeStore:
    store = RuntimeStore(url)
    store.upgrade()
    now = datetime(2021, 1, 1, tzinfo=UTC)
    rows = daily.with_columns(pl.lit(now).alias("known_at"), pl.lit("v1").alias("config_version"))
    store.upsert(backtest_daily, [r | {"created_at": now} for r in rows.iter_rows(named=True)])
    return store


def test_costs_when_an_order_finds_no_price_stay_finite_on_every_session() -> None:
    daily = _window()
    costs = daily.select(COST_COLUMNS)
    assert costs.select(pl.all().is_finite().all()).row(0) == (True,) * len(COST_COLUMNS)
    # The gap session still traded the other names: spread and impact were charged there and afterwards.
    assert daily.filter(pl.col("session") >= GAP[0])["spread"].sum() > 0
    assert daily.filter(pl.col("session") >= GAP[0])["impact"].sum() > 0


def test_daily_when_written_and_read_back_has_the_same_costs_and_cost_drag(runtime_db_url: str) -> None:
    daily = _window()
    store = _write(runtime_db_url, daily)
    back = read_daily(store, "exp", Market.US_EQ, DAYS[0], DAYS[-1])
    finite = back.select(pl.col(COST_COLUMNS).is_finite().fill_null(False).all())
    assert finite.row(0) == (True,) * len(COST_COLUMNS)
    assert_frame_equal(back, daily)
    drag = compute_metrics(back).get().cost_drag
    assert math.isfinite(drag)
    assert drag == compute_metrics(daily).get().cost_drag


@pytest.mark.parametrize("column", ["spread", "benchmark_return"])
def test_read_daily_when_a_figure_is_nan_reads_null_on_every_backend(runtime_db_url: str, column: str) -> None:
    daily = _window().with_columns(
        pl.when(pl.col("session") == GAP[0]).then(math.nan).otherwise(pl.col(column)).alias(column)
    )
    back = read_daily(_write(runtime_db_url, daily), "exp", Market.US_EQ, DAYS[0], DAYS[-1])
    at_gap = back.filter(pl.col("session") == GAP[0])
    assert at_gap[column].null_count() == 1
    assert back[column].is_nan().sum() == 0
