"""The backtest window: orders from rebalance targets only, equity that reconciles with fills and prices, the 1/N
baseline, and the same results whether the sessions run as one window or as several."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from prometheus.backtest.config import BacktestConfig
from prometheus.backtest.runner import AccountState, WindowInputs, run_window
from prometheus.core.errors import ConfigError
from prometheus.execution.simulator import SimulatorConfig
from prometheus.execution.types import RemainderPolicy
from tests.support.execution_kit import sessions as weekdays

NAMES = ("AAA", "BBB", "CCC", "DDD")


DAYS = weekdays(60, date(2020, 1, 1))


def _bars(seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for j, name in enumerate(NAMES):
        close = 50.0 * (j + 1) * np.exp(np.cumsum(rng.normal(0.0005, 0.015, len(DAYS))))
        opens = close * np.exp(rng.normal(0, 0.004, len(DAYS)))
        for i, d in enumerate(DAYS):
            rows.append({"date": d, "symbol": name, "open": opens[i], "high": max(opens[i], close[i]) * 1.01,
                         "low": min(opens[i], close[i]) * 0.99, "close": close[i], "volume": 2e6})  # fmt: skip
    return pl.DataFrame(rows)


BARS = _bars()
ACTIONS = pl.DataFrame(
    [{"date": DAYS[40], "symbol": "BBB", "action": "dividend", "value": 0.5}],
    schema={"date": pl.Date, "symbol": pl.String, "action": pl.String, "value": pl.Float64},
)
REBALANCES = frozenset(DAYS[i] for i in (24, 29, 34, 39, 44, 49, 54))


def _targets() -> pl.DataFrame:
    rows = []
    for i, d in enumerate(DAYS[20:], start=20):
        w = [0.3, 0.3, 0.2, 0.1] if (i // 10) % 2 else [0.1, 0.2, 0.3, 0.3]
        rows += [{"session": d, "instrument": n, "weight": x} for n, x in zip(NAMES, w, strict=True)]
    return pl.DataFrame(rows)


def _inputs(sessions: list[date]) -> WindowInputs:
    prior = DAYS[DAYS.index(sessions[0]) - 1]
    close = {d: datetime(d.year, d.month, d.day, 21, tzinfo=UTC) for d in DAYS}
    rets = BARS.sort("symbol", "date").with_columns(
        (pl.col("close") / pl.col("close").shift(1).over("symbol") - 1).alias("total_return")
    )
    return WindowInputs(
        sessions=sessions,
        prior=prior,
        bars=BARS.filter(pl.col("date") <= sessions[-1]),
        actions=ACTIONS.filter(pl.col("date").is_in(sessions)),
        returns=rets.select("date", "symbol", "total_return"),
        targets=_targets().filter(pl.col("session").is_in([prior, *sessions])),
        rebalances=REBALANCES,
        universe={d: frozenset(NAMES[:3]) for d in DAYS},
        regimes={d: "calm" if i < 40 else "crisis" for i, d in enumerate(DAYS)},
        session_ts=close,
        decision_times={d: t + timedelta(minutes=5) for d, t in close.items()},
    )


# Four names at up to 30 % each: the default position and order limits (10 % of equity, 250k) would refuse most.
LIMITS = {"enforce_universe": False, "max_position_pct_equity": 0.5, "max_position_notional": None,
          "max_order_notional": None}  # fmt: skip
CONFIG = BacktestConfig(limits=BacktestConfig().limits.model_copy(update=LIMITS))


def _run(windows: list[list[date]]) -> tuple[pl.DataFrame, list]:
    strategy, baseline = AccountState.initial(CONFIG.initial_capital), None
    frames, fills = [], []
    for sessions in windows:
        result = run_window("exp", "US_EQ", CONFIG, _inputs(sessions), strategy, baseline)
        strategy = result.strategy.state
        baseline = result.baseline.state if result.baseline is not None else None
        frames.append(result.daily)
        fills += result.strategy.fills
    return pl.concat(frames), fills


def test_window_when_split_into_partitions_gives_the_same_results_as_one_window() -> None:
    whole, fills_whole = _run([DAYS[21:60]])
    parts, fills_parts = _run([DAYS[21:30], DAYS[30:31], DAYS[31:45], DAYS[45:60]])
    assert whole.columns == parts.columns
    for col in ("equity", "cash", "turnover", "commission", "impact", "dividends", "baseline_return"):
        np.testing.assert_allclose(parts[col].to_numpy(), whole[col].to_numpy(), rtol=1e-12, atol=1e-9)
    assert [(f.ref, f.quantity) for f in fills_parts] == [(f.ref, f.quantity) for f in fills_whole]


def test_orders_when_planned_only_follow_rebalance_sessions_and_fill_at_the_next_open() -> None:
    daily, fills = _run([DAYS[21:60]])
    filled_days = {f.session for f in fills}
    expected = {DAYS[DAYS.index(d) + 1] for d in REBALANCES if DAYS.index(d) + 1 < 60}
    assert filled_days == expected
    traded = daily.filter(pl.col("turnover") > 0)["session"].to_list()
    assert set(traded) == expected


def test_equity_when_reconciled_equals_cash_plus_shares_times_close_on_every_session() -> None:
    daily, fills = _run([DAYS[21:60]])
    shares: dict[str, float] = {}
    by_day: dict[date, list] = {}
    for f in fills:
        by_day.setdefault(f.session, []).append(f)
    close = {(d, s): c for d, s, c in BARS.select("date", "symbol", "close").iter_rows()}
    cash = CONFIG.initial_capital
    for row in daily.iter_rows(named=True):
        d = row["session"]
        if d == DAYS[40]:  # ex-date: the dividend is paid on the shares held at the open, before its fills
            cash += shares.get("BBB", 0.0) * 0.5
        for f in by_day.get(d, []):
            sign = f.side.sign
            shares[f.instrument] = shares.get(f.instrument, 0.0) + sign * f.quantity
            cash -= sign * f.quantity * f.price + f.commission + f.fees
        value = sum(q * close[(d, n)] for n, q in shares.items())
        assert row["cash"] == pytest.approx(cash, rel=1e-9)
        assert row["equity"] == pytest.approx(cash + value, rel=1e-9)
    assert daily.filter(pl.col("session") == DAYS[40])["dividends"].item() > 0


def test_baseline_when_run_holds_one_over_n_of_the_universe_and_daily_columns_are_complete() -> None:
    daily, _ = _run([DAYS[21:60]])
    assert daily["baseline_return"].null_count() == 0
    assert daily["benchmark_return"].is_not_nan().all()
    assert daily["regime_label"].to_list()[-1] == "crisis"
    late = daily.filter(pl.col("session") > DAYS[26])
    assert (late["gross_exposure"] > 0.85).all()
    assert (late["net_exposure"] <= 1.0 + 1e-9).all()


def test_risk_gate_when_targets_break_the_position_limit_rejects_those_orders_and_says_why() -> None:
    strict = BacktestConfig()
    result = run_window("exp", "US_EQ", strict, _inputs(DAYS[21:40]), AccountState.initial(1e6), None)
    codes = {r.rejection.code.value for r in result.strategy.rejections}
    assert "MAX_POSITION_PCT_EQUITY" in codes
    assert all(abs(p.quantity) > 0 for p in result.strategy.state.positions.values())
    held = result.strategy.snapshots[-1]
    weights = {n: p.quantity * BARS.filter((pl.col("date") == held[0]) & (pl.col("symbol") == n))["close"].item()
               / held[3] for n, p in held[1].items()}  # fmt: skip
    assert max(weights.values()) < 0.15


def test_config_when_remainders_would_carry_over_is_refused() -> None:
    with pytest.raises(ConfigError, match="remainder"):
        BacktestConfig.from_mapping({"simulator": {"remainder": "CARRY_OVER"}}, source="bt.yaml")
    assert SimulatorConfig(remainder=RemainderPolicy.CANCEL)


def test_stress_scale_when_below_one_scales_that_rebalance_down_and_says_so() -> None:
    rebalance = sorted(REBALANCES)[1]
    plain = _inputs(DAYS[21:40])
    stressed = WindowInputs(**{**plain.__dict__, "stress_scale": {rebalance: 0.5}})
    base = run_window("exp", "US_EQ", CONFIG, plain, AccountState.initial(1e6), None)
    cut = run_window("exp", "US_EQ", CONFIG, stressed, AccountState.initial(1e6), None)
    after = DAYS[DAYS.index(rebalance) + 1]
    gross = {r["session"]: r["gross_exposure"] for r in cut.daily.iter_rows(named=True)}
    gross_base = {r["session"]: r["gross_exposure"] for r in base.daily.iter_rows(named=True)}
    assert gross[after] == pytest.approx(gross_base[after] / 2, rel=0.05)
    assert any("scaled by 0.500" in n for n in cut.strategy.notes)
