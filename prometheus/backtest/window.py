"""A backtest window against the stores: read what it needs, run it, write the results under the experiment.

Reads the historical bars, corporate actions and total returns through a TimeMachine snapshot at the window's last
decision time; the target portfolios, rebalance statuses, universe and regime labels from the decision log under
the experiment; the account state at the close of the session before the window from ``positions`` / ``cash`` /
``backtest_daily``. Writes orders with their events, fills, rejections, a position and cash snapshot per session
(strategy and the 1/N baseline, which lives under ``<experiment>/baseline``), and the ``backtest_daily`` rows, all
as idempotent upserts keyed by the experiment, so running a window again replaces its rows.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl
import sqlalchemy as sa

from prometheus.backtest.config import BacktestConfig
from prometheus.backtest.runner import BASELINE_SUFFIX, AccountRun, AccountState, WindowInputs, run_window
from prometheus.calendar import TradingCalendar
from prometheus.core.errors import DataError
from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.data.ingest.vendor import DEFAULT_CURRENCY
from prometheus.data.schema import Table
from prometheus.data.store import HistoricalStore
from prometheus.data.timemachine import HistorySnapshot, TimeMachine
from prometheus.engines.portfolio import PORTFOLIO_SPEC
from prometheus.engines.portfolio.schema import RISK_REPORTS
from prometheus.engines.regime import REGIME_SPEC
from prometheus.engines.runner import lineage_version
from prometheus.engines.scenarios import SCENARIOS_SPEC
from prometheus.engines.universe import UNIVERSE_SPEC
from prometheus.execution.state_machine import Order
from prometheus.execution.store import AccountSnapshot, ExecutionContext, ExecutionStore
from prometheus.execution.types import Fill, Position
from prometheus.runtime.decision_log import DecisionLog
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables import backtest_daily, cash, engine_decisions, fills, positions, risk_rejections

#: Statuses of a risk report that are not a rebalance decision (the book is held).
HOLD_STATUS = "hold"


@dataclass(frozen=True)
class WindowReport:
    """What a window did: its daily rows, counts, the version its rows carry and notes."""

    daily: pl.DataFrame
    config_version: str
    orders: int
    fills: int
    rejections: int
    notes: tuple[str, ...]
    #: max over sessions of |equity - cash - sum shares x close| / equity, from the stored snapshots and the bars.
    reconciliation_error: float


def backtest_window(
    historical: HistoricalStore,
    runtime: RuntimeStore,
    calendar: TradingCalendar,
    market: Market,
    sessions: Sequence[date],
    experiment: str,
    config: BacktestConfig,
    bar_delay: timedelta,
) -> WindowReport:
    """Run the backtest over ``sessions`` (consecutive sessions of ``market``) and record everything.

    Raises
    ------
    DataError
        The portfolio has no target for the window in this experiment, or was decided by several versions.
    """
    sessions = list(sessions)
    log = DecisionLog(runtime)
    prior_list = calendar.sessions_before(market, sessions[0], 1)
    prior = prior_list[0] if prior_list else None
    decided = [*prior_list, *sessions]
    targets = log.read_output(PORTFOLIO_SPEC.output_table, PORTFOLIO_SPEC.schema, market=market.value,
                              experiment=experiment, sessions=decided)  # fmt: skip
    in_window = targets.filter(pl.col("session").is_in(sessions))
    if in_window.is_empty():
        raise DataError(
            f"no target portfolio of {market.value} in experiment {experiment!r} for {sessions[0]}..{sessions[-1]}: "
            "run the portfolio first",
            field="target_portfolios",
        )
    versions = targets["config_version"].unique().to_list()
    if len(versions) > 1:
        raise DataError(f"target portfolios of experiment {experiment!r} come from {len(versions)} config versions",
                        field="config_version")  # fmt: skip
    version = lineage_version(config, {PORTFOLIO_SPEC.name: versions[0]})
    reports = log.read_output(RISK_REPORTS.table, RISK_REPORTS.schema, market=market.value, experiment=experiment,
                              sessions=decided)  # fmt: skip
    rebalances = frozenset(
        d for d, r in reports.select("session", "report").iter_rows() if r is not None and r["status"] != HOLD_STATUS
    )
    universe = log.read_output(UNIVERSE_SPEC.output_table, UNIVERSE_SPEC.schema, market=market.value,
                               experiment=experiment, sessions=decided)  # fmt: skip
    members: dict[date, set[str]] = {}
    for d, name, reason in universe.select("session", "instrument", "reason").iter_rows():
        if reason != "exit":
            members.setdefault(d, set()).add(name)
    regimes = log.read_output(REGIME_SPEC.output_table, REGIME_SPEC.schema, market=market.value,
                              experiment=experiment, sessions=sessions)  # fmt: skip
    close = {d: calendar.close_at(market, d) for d in calendar.sessions_before(market, sessions[-1],
                                                                                len(sessions) + config.adv_window + 3,
                                                                                inclusive=True)}  # fmt: skip
    decision = {d: t + bar_delay for d, t in close.items()}
    view = _view(historical, market, sessions, decision[sessions[-1]], config.adv_window)
    stress = stress_scales(runtime, market, experiment, decided)
    first_bar = min(close)
    inputs = WindowInputs(
        sessions=sessions,
        prior=prior,
        bars=view.table(
            Table.PRICES_DAILY,
            market=market,
            start=first_bar,
            end=sessions[-1],
            columns=["date", "symbol", "open", "high", "low", "close", "volume"],
        ),  # fmt: skip
        actions=view.table(
            Table.CORPORATE_ACTIONS,
            market=market,
            start=sessions[0],
            end=sessions[-1],
            columns=["date", "symbol", "action", "value"],
        ),  # fmt: skip
        returns=view.table(
            Table.PRICES_ADJUSTED,
            market=market,
            start=sessions[0],
            end=sessions[-1],
            columns=["date", "symbol", "total_return"],
        ),  # fmt: skip
        targets=targets.select("session", "instrument", "weight"),
        rebalances=rebalances,
        universe={d: frozenset(v) for d, v in members.items()},
        regimes=dict(regimes.select("session", "label").iter_rows()),
        session_ts=close,
        decision_times=decision,
        stress_scale=stress,
    )
    strategy = load_state(runtime, market, experiment, prior, config)
    baseline = load_state(runtime, market, experiment + BASELINE_SUFFIX, prior, config) if config.baseline else None
    result = run_window(experiment, market.value, config, inputs, strategy, baseline)
    accounts = [(experiment, result.strategy)]
    if result.baseline is not None:
        accounts.append((experiment + BASELINE_SUFFIX, result.baseline))
    for name, run in accounts:
        _save_account(runtime, market, name, version, run, sessions, decision)
    daily = result.daily
    known = [decision[d] for d in daily["session"].to_list()]
    rows = daily.with_columns(pl.Series("known_at", known), pl.lit(version).alias("config_version"))
    now = utc_now()
    runtime.upsert(backtest_daily, [r | {"created_at": now} for r in rows.iter_rows(named=True)])
    notes = tuple(result.strategy.notes + (result.baseline.notes if result.baseline is not None else []))
    error = reconciliation_error(result.strategy, inputs.bars)
    return WindowReport(daily, version, len(result.strategy.orders), len(result.strategy.fills),
                        len(result.strategy.rejections), notes, error)  # fmt: skip


def reconciliation_error(run: AccountRun, bars: pl.DataFrame) -> float:
    """Largest |equity - (cash + sum shares x last close)| / equity over the run's sessions (0.0: reconciled)."""
    by_day: dict[date, list[tuple[str, float]]] = {}
    for d, sym, c in bars.select("date", "symbol", "close").drop_nulls("close").iter_rows():
        by_day.setdefault(d, []).append((sym, c))
    days = sorted(by_day)
    last: dict[str, float] = {}
    k, worst = 0, 0.0
    for day, held, balance, equity in run.snapshots:
        while k < len(days) and days[k] <= day:
            last.update(by_day[days[k]])
            k += 1
        value = sum(p.quantity * last.get(n, 0.0) for n, p in held.items())
        worst = max(worst, abs(equity - balance - value) / abs(equity) if equity else float("inf"))
    return worst


def stress_scales(
    runtime: RuntimeStore, market: Market, experiment: str, sessions: Sequence[date]
) -> dict[date, float]:
    """Session -> the Scenarios engine's stress scale, where its decision set one (a stress limit is configured)."""
    q = sa.select(engine_decisions.c.session, engine_decisions.c.payload).where(
        engine_decisions.c.engine == SCENARIOS_SPEC.name,
        engine_decisions.c.market == market.value,
        engine_decisions.c.experiment == experiment,
        engine_decisions.c.session.in_(list(sessions)),
    )
    with runtime.read() as conn:
        rows = conn.execute(q).all()
    return {d: float(p["scale"]) for d, p in rows if isinstance(p, dict) and p.get("scale") is not None}


def _view(
    historical: HistoricalStore, market: Market, sessions: Sequence[date], as_of: datetime, window: int
) -> TimeMachine:
    """One snapshot of the window's bars (with the warm-up), actions and total returns, as known at ``as_of``."""
    start = sessions[0] - timedelta(days=2 * window + 15)  # calendar days that hold the warm-up sessions
    snap = HistorySnapshot.load(historical, [Table.PRICES_DAILY, Table.CORPORATE_ACTIONS, Table.PRICES_ADJUSTED],
                                known_until=as_of, market=market, start=start, end=sessions[-1])  # fmt: skip
    return TimeMachine(snap, as_of)


def load_state(
    runtime: RuntimeStore, market: Market, experiment: str, prior: date | None, config: BacktestConfig
) -> AccountState:
    """The account at the close of ``prior`` under ``experiment``: initial capital when nothing was recorded."""
    if prior is None:
        return AccountState.initial(config.initial_capital)
    m = market.value
    with runtime.read() as conn:
        balance = conn.execute(
            sa.select(cash.c.balance).where(
                cash.c.experiment == experiment, cash.c.market == m, cash.c.session == prior
            )  # fmt: skip
        ).scalar_one_or_none()
        if balance is None:
            return AccountState.initial(config.initial_capital)
        held = conn.execute(
            sa.select(positions.c.instrument, positions.c.quantity, positions.c.cost_basis).where(
                positions.c.experiment == experiment, positions.c.market == m, positions.c.session == prior
            )
        ).all()
        equity = [
            float(v)
            for (v,) in conn.execute(
                sa.select(cash.c.equity)
                .where(cash.c.experiment == experiment, cash.c.market == m, cash.c.session <= prior)
                .order_by(cash.c.session)
            )
            if v is not None
        ]
        volume = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(fills.c.quantity), 0.0)).where(
                fills.c.experiment == experiment,
                fills.c.market == m,
                fills.c.session >= prior.replace(day=1),
                fills.c.session <= prior,
            )  # fmt: skip
        ).scalar_one()
    return AccountState(
        cash=float(balance),
        positions={n: Position(n, float(q), float(c)) for n, q, c in held},
        peak_equity=max([config.initial_capital, *equity]),
        tripped=config.kill_switch and _tripped(equity, config),
        month_volume=float(volume),
    )


def _tripped(equity: Sequence[float], config: BacktestConfig) -> bool:
    """Whether the kill switch tripped on a recorded session (drawdown from the running peak, or a daily loss)."""
    limits = config.limits
    peak = before = config.initial_capital
    for e in equity:
        if limits.max_drawdown is not None and e < peak * (1 - limits.max_drawdown):
            return True
        if limits.max_daily_loss is not None and e < before * (1 - limits.max_daily_loss):
            return True
        peak, before = max(peak, e), e
    return False


def _save_account(
    runtime: RuntimeStore,
    market: Market,
    experiment: str,
    version: str,
    run: AccountRun,
    sessions: Sequence[date],
    decision: Mapping[date, datetime],
) -> None:
    """Orders (decided at the close before their session), fills, rejections and per-session snapshots."""
    store = ExecutionStore(runtime, ExecutionContext(market, experiment, version))
    known = sorted(decision)
    before = {d: known[bisect_left(known, d) - 1] for d in sessions}  # the session before each one
    by_session: dict[date, list[Order]] = {}
    for order in run.orders:
        by_session.setdefault(order.session, []).append(order)
    for day, orders in by_session.items():
        store.save_orders(orders, decision[before[day]])
    fills_by: dict[date, list[Fill]] = {}
    for f in run.fills:
        fills_by.setdefault(f.session, []).append(f)
    for day, found in fills_by.items():
        store.save_fills(found, decision[before[day]])
    # Rejections are append-only: a re-run of the window replaces its own rather than adding to them.
    with runtime.begin() as conn:
        conn.execute(
            sa.delete(risk_rejections).where(
                risk_rejections.c.experiment == experiment,
                risk_rejections.c.market == market.value,
                risk_rejections.c.session.in_(list(sessions)),
            )
        )
    if run.rejections:
        store.record_rejections(run.rejections)
    # Cash and equity are in the market's currency (EUR on EU_EQ, JPY on JP_EQ), not a hard-wired USD.
    store.save_accounts([AccountSnapshot(day, held, balance, decision[day], equity)
                         for day, held, balance, equity in run.snapshots], DEFAULT_CURRENCY[market])  # fmt: skip
