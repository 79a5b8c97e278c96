"""One backtest window: the target portfolios of each session through the OrderPlanner, the RiskGate and the
BacktestBroker, with the 1/N baseline beside them, into daily results.

Timing (the architecture's BACKTEST flow): the target decided at the close of session ``q`` is planned at ``q``'s
decision time against ``q``'s closes and equity, gated, and sent as market-on-open orders for the next session
``s``; the broker applies ``s``'s corporate actions at its open, fills, and marks at its close. Orders are planned
only on the portfolio engine's rebalance sessions (its risk report's status is not ``hold``); between them the book
drifts with prices. The window starts from the account state at the close of the session before it (positions and
cash, from the previous partition) so the same code walks a month or one session.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import polars as pl

from prometheus.backtest.config import BacktestConfig
from prometheus.backtest.schema import BACKTEST_DAILY_SCHEMA, COST_COLUMNS
from prometheus.core.errors import DataError
from prometheus.execution.backtest_broker import BacktestBroker, CorporateAction, CorporateActionKind
from prometheus.execution.kill_switch import breach_reason
from prometheus.execution.market_data import MarketPanel
from prometheus.execution.planner import OrderPlanner, PlanningInput
from prometheus.execution.risk_gate import AccountView, Quote, RejectionRecord, RiskGate
from prometheus.execution.state_machine import Order
from prometheus.execution.types import Fill, Position, TradingState

#: Suffix of the experiment name the 1/N baseline's orders, fills and account rows are written under.
BASELINE_SUFFIX = "/baseline"


@dataclass(frozen=True)
class AccountState:
    """An account at the close of a session: cash, positions, and the equity peak so far (kill switch)."""

    cash: float
    positions: Mapping[str, Position] = field(default_factory=dict)
    peak_equity: float | None = None
    tripped: bool = False
    #: Shares traded in the calendar month of the state's session (tiered commissions count the month's volume).
    month_volume: float = 0.0

    @classmethod
    def initial(cls, capital: float) -> AccountState:
        """All cash."""
        return cls(cash=capital, positions={}, peak_equity=capital)


@dataclass(frozen=True)
class WindowInputs:
    """What a window needs, all known by the decision time of its last session.

    ``bars``: raw daily bars (``date, symbol, open, high, low, close, volume``) from at least ``adv_window``
    sessions before the window to its last session; ``actions``: corporate actions (``date, symbol, action,
    value``) of the window's sessions; ``returns``: ``date, symbol, total_return`` for the benchmark;
    ``targets``: ``session, instrument, weight`` of the session before the window and of the window's sessions;
    ``rebalances``: the sessions whose target is a rebalance decision; ``universe``: session -> member names;
    ``regimes``: session -> Regime label; ``session_ts``: session -> close instant (UTC);
    ``decision_times``: session -> decision instant (UTC).
    """

    sessions: Sequence[date]
    prior: date | None
    bars: pl.DataFrame
    actions: pl.DataFrame
    returns: pl.DataFrame
    targets: pl.DataFrame
    rebalances: frozenset[date]
    universe: Mapping[date, frozenset[str]]
    regimes: Mapping[date, str]
    session_ts: Mapping[date, datetime]
    decision_times: Mapping[date, datetime]
    benchmark: Mapping[date, float] | None = None
    #: session -> the Scenarios engine's stress scale (< 1 when the worst stress loss breaches its limit): the
    #: target of that session is scaled down by it before planning.
    stress_scale: Mapping[date, float] = field(default_factory=dict)


@dataclass
class AccountRun:
    """What one account did over a window."""

    daily: pl.DataFrame
    orders: list[Order]
    fills: list[Fill]
    rejections: list[RejectionRecord]
    snapshots: list[tuple[date, dict[str, Position], float, float]]  # session, positions, cash, equity
    state: AccountState
    notes: list[str]


@dataclass
class WindowResult:
    """The strategy's and the baseline's runs and the daily results table rows."""

    daily: pl.DataFrame
    strategy: AccountRun
    baseline: AccountRun | None


def run_window(
    experiment: str,
    market: str,
    config: BacktestConfig,
    inputs: WindowInputs,
    strategy: AccountState,
    baseline: AccountState | None,
) -> WindowResult:
    """Simulate the window's sessions for the strategy (and the 1/N baseline when configured)."""
    if not inputs.sessions:
        raise DataError("a backtest window needs at least one session", field="sessions")
    panel, warm = _panel(inputs, config.adv_window, strategy, baseline)
    actions = _actions(inputs.actions, panel)
    targets, notes = _strategy_targets(inputs)
    strat = _run_account(experiment, config, inputs, panel, warm, actions, strategy, targets)
    strat.notes[:0] = notes
    base = None
    if config.baseline:
        start = baseline or AccountState.initial(config.initial_capital)
        base = _run_account(experiment + BASELINE_SUFFIX, config, inputs, panel, warm, actions, start,
                            _baseline_targets(inputs))  # fmt: skip
    bench = _benchmark(inputs)
    daily = strat.daily.with_columns(
        pl.lit(experiment).alias("experiment"),
        pl.lit(market).alias("market"),
        pl.Series("benchmark_return", [bench.get(d, math.nan) for d in inputs.sessions], dtype=pl.Float64),
        (base.daily["daily_return"] if base is not None else pl.lit(None, pl.Float64)).alias("baseline_return"),
        pl.Series("regime_label", [inputs.regimes.get(d) for d in inputs.sessions], dtype=pl.String),
    ).select(list(BACKTEST_DAILY_SCHEMA))
    return WindowResult(daily, strat, base)


# --------------------------------------------------------------------------------------------------- targets
def _strategy_targets(inputs: WindowInputs) -> tuple[dict[date, dict[str, float]], list[str]]:
    """Target weights of each rebalance session (a name held before and absent from the target goes to 0), scaled
    down where the Scenarios engine's stress limit says so; and a note per scaled session."""
    out: dict[date, dict[str, float]] = {}
    notes: list[str] = []
    frame = inputs.targets.filter(pl.col("session").is_in(list(inputs.rebalances)))
    for (day,), part in frame.group_by(["session"], maintain_order=True):
        scale = inputs.stress_scale.get(day, 1.0)
        if scale < 1.0:
            notes.append(f"{day}: target scaled by {scale:.3f} (stress loss over the scenarios' limit)")
        out[day] = {n: w * min(scale, 1.0) for n, w in zip(part["instrument"], part["weight"], strict=True)}
    return out, notes


def _baseline_targets(inputs: WindowInputs) -> dict[date, dict[str, float]]:
    """1/N over the universe on the strategy's rebalance sessions (same cadence, same costs)."""
    out: dict[date, dict[str, float]] = {}
    for day in inputs.rebalances:
        names = inputs.universe.get(day, frozenset())
        if names:
            out[day] = dict.fromkeys(sorted(names), 1.0 / len(names))
    return out


# --------------------------------------------------------------------------------------------------- market data
def _panel(inputs: WindowInputs, window: int, *states: AccountState | None) -> tuple[MarketPanel, int]:
    """Raw bars of the warm-up and the window as a MarketPanel; returns it and the index of the first window
    session. Held names without bars stay in the panel (marked at their last price, not tradable)."""
    bars = inputs.bars.filter(pl.col("date") <= inputs.sessions[-1])
    days = sorted(set(bars["date"].to_list()) | set(inputs.sessions) | ({inputs.prior} if inputs.prior else set()))
    first = days.index(inputs.sessions[0])
    days = days[max(0, first - window - 1) :]  # window returns need window + 1 closes
    warm = days.index(inputs.sessions[0])
    held = {n for s in states if s is not None for n in s.positions}
    names = sorted(set(bars["symbol"].to_list()) | held)
    bars = bars.filter(pl.col("date").is_in(days))
    grid = {col: _dense(bars, col, days, names) for col in ("open", "high", "low", "close", "volume")}
    ts = [inputs.session_ts[d] for d in days] if all(d in inputs.session_ts for d in days) else None
    if ts is None:
        missing = [d for d in days if d not in inputs.session_ts]
        raise DataError(f"no close time for sessions {missing[:3]}", field="session_ts")
    panel = MarketPanel.from_ohlcv(days, ts, names, grid, window=window)
    return panel, warm


def _dense(bars: pl.DataFrame, col: str, days: Sequence[date], names: Sequence[str]) -> np.ndarray:
    out = np.full((len(days), len(names)), np.nan)
    if bars.is_empty():
        return out
    row = {d: i for i, d in enumerate(days)}
    colix = {n: j for j, n in enumerate(names)}
    r = np.fromiter((row[d] for d in bars["date"].to_list()), np.int64, bars.height)
    c = np.fromiter((colix[n] for n in bars["symbol"].to_list()), np.int64, bars.height)
    out[r, c] = bars[col].cast(pl.Float64).fill_null(math.nan).to_numpy()
    return out


def _actions(frame: pl.DataFrame, panel: MarketPanel) -> list[CorporateAction]:
    known, days = set(panel.instruments), set(panel.sessions)
    out = []
    for day, symbol, action, value in frame.select("date", "symbol", "action", "value").iter_rows():
        if symbol in known and day in days:
            out.append(CorporateAction(day, symbol, CorporateActionKind(str(action).upper()), float(value)))
    return out


def _benchmark(inputs: WindowInputs) -> dict[date, float]:
    """The configured benchmark series, else the equal-weighted total return of the names with a return."""
    if inputs.benchmark is not None:
        return dict(inputs.benchmark)
    frame = (
        inputs.returns.filter(pl.col("date").is_in(list(inputs.sessions)) & pl.col("total_return").is_not_null())
        .group_by("date")
        .agg(pl.col("total_return").mean())
    )
    return dict(frame.iter_rows())


# --------------------------------------------------------------------------------------------------- one account
def _run_account(
    account: str,
    config: BacktestConfig,
    inputs: WindowInputs,
    panel: MarketPanel,
    warm: int,
    actions: list[CorporateAction],
    start: AccountState,
    targets: Mapping[date, Mapping[str, float]],
) -> AccountRun:
    broker = BacktestBroker(panel, config.simulator, start.cash, actions)
    col = {n: j for j, n in enumerate(panel.instruments)}
    prior = panel.sessions[warm - 1] if warm > 0 else None
    broker.resume(start.cash, start.positions, prior, start.month_volume)
    planner = OrderPlanner(config.planner)
    rejections: list[RejectionRecord] = []
    state = {"trading": TradingState.HALTED if start.tripped else TradingState.ACTIVE}
    gate = RiskGate(config.limits, lambda: state["trading"], recorder=None)
    orders: list[Order] = []
    notes: list[str] = []
    snapshots: list[tuple[date, dict[str, Position], float, float]] = []
    peak = start.peak_equity if start.peak_equity is not None else config.initial_capital
    equity_before = broker.equity_at(prior) if prior is not None else start.cash
    marks = _marks(panel.close)
    rows: list[dict[str, float]] = []
    fills_seen = 0
    curve_prev = np.zeros(len(COST_COLUMNS) + 1)  # cumulative costs + dividends before the session
    for k, day in enumerate(inputs.sessions):
        s = warm + k
        q = panel.sessions[s - 1] if s > 0 else None
        if q is not None and q in targets:
            new = _plan(account, day, q, targets[q], broker, planner, panel, marks, col, s - 1, config, inputs)
            held_now = {n: p.quantity for n, p in broker.positions().items()}
            # The gate projects orders one after another: reductions go first so that the buys they fund are not
            # refused for an exposure the batch as a whole never reaches.
            new.sort(key=lambda o: abs(held_now.get(o.instrument, 0.0) + o.signed_quantity)
                     >= abs(held_now.get(o.instrument, 0.0)))  # fmt: skip
            if new:
                view = AccountView(
                    equity=broker.equity_at(q),
                    positions=held_now,
                    quotes={n: Quote(float(marks[s - 1, col[n]]), inputs.session_ts[q]) for n in _names(new)},
                    universe=inputs.universe.get(q) if config.limits.enforce_universe else None,
                )
                result = gate.check(new, view, inputs.decision_times[q])
                rejections += result.rejected
                broker.submit_many(result.passed)
                orders += result.passed
        broker.advance_to(day)
        curve = broker.curve_row(day)
        fills = broker.fills(fills_seen)
        fills_seen += len(fills)
        traded = sum(f.quantity * f.price for f in fills)
        cum = np.array([curve[c] for c in COST_COLUMNS] + [curve["dividends"]])
        step = cum - curve_prev
        curve_prev = cum
        equity = float(curve["equity"])
        row = {
            "session": day,
            "equity": equity,
            "cash": float(curve["cash"]),
            "gross_exposure": float(curve["gross_exposure"]) / equity if equity > 0 else math.nan,
            "net_exposure": float(curve["market_value"]) / equity if equity > 0 else math.nan,
            "turnover": traded / equity_before if equity_before > 0 else math.nan,
            "daily_return": equity / equity_before - 1.0 if equity_before > 0 else math.nan,
        }
        row |= {c: float(v) for c, v in zip((*COST_COLUMNS, "dividends"), step, strict=True)}
        rows.append(row)
        held = broker.positions()
        snapshots.append((day, held, broker.cash(), equity))
        if config.kill_switch and state["trading"] is TradingState.ACTIVE:
            reason = breach_reason(config.limits, equity, peak, equity_before)
            if reason:
                state["trading"] = config.limits.breach_state
                notes.append(f"{account} {day}: kill switch {config.limits.breach_state.value}: {reason}")
        peak = max(peak, equity)
        equity_before = equity
    month, volume = broker.month_volume
    last = inputs.sessions[-1]
    end = AccountState(broker.cash(), broker.positions(), peak, state["trading"] is not TradingState.ACTIVE,
                       volume if month == (last.year, last.month) else 0.0)  # fmt: skip
    schema = {k: v[0] for k, v in BACKTEST_DAILY_SCHEMA.items() if k in rows[0]}
    daily = pl.DataFrame(rows, schema=schema)
    return AccountRun(daily, orders, list(broker.fills()), rejections, snapshots, end, notes)


def _plan(
    account: str,
    day: date,
    q: date,
    target: Mapping[str, float],
    broker: BacktestBroker,
    planner: OrderPlanner,
    panel: MarketPanel,
    marks: np.ndarray,
    col: Mapping[str, int],
    qi: int,
    config: BacktestConfig,
    inputs: WindowInputs,
) -> list[Order]:
    """Orders for ``day``'s open from the target decided at ``q``'s close."""
    held = {n: p.quantity for n, p in broker.positions().items()}
    names = sorted((set(target) | set(held)) & set(col))
    if not names:
        return []
    idx = np.array([col[n] for n in names])
    prices = marks[qi, idx]
    # A name without any price cannot be sized; it keeps its position (the planner refuses NaN prices).
    ok = np.isfinite(prices) & (prices > 0)
    plan = PlanningInput(
        account=account,
        session=day,
        instruments=[n for n, g in zip(names, ok, strict=True) if g],
        target_weights=np.array([target.get(n, 0.0) for n, g in zip(names, ok, strict=True) if g]),
        positions=np.array([held.get(n, 0.0) for n, g in zip(names, ok, strict=True) if g]),
        prices=prices[ok],
        equity=broker.equity_at(q),
        adv=panel.adv[qi + 1, idx[ok]] if config.planner.max_participation is not None else None,
    )
    return planner.plan(plan)


def _names(orders: Sequence[Order]) -> set[str]:
    return {o.instrument for o in orders}


def _marks(close: np.ndarray) -> np.ndarray:
    """Closes forward-filled down the sessions (a held name without a bar keeps its last price)."""
    out = close.copy()
    for i in range(1, out.shape[0]):
        gap = ~np.isfinite(out[i])
        out[i, gap] = out[i - 1, gap]
    return out
