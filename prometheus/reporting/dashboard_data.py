"""What the operator dashboard shows, read from the runtime store: one frozen dataclass per panel.

Pure reads (plus :func:`halt`, which writes through the kill switch's own API); no web framework is imported
here, so the figures are testable without a server and the web app (``prometheus_dashboard``) only renders them.
Unlike the rest of :mod:`prometheus.reporting`, which works on frames handed to it, this module reads the
runtime store: the dashboard is a live view of it.

Where each figure lives:

- market state: the TradingCalendar (now) and the latest ``market_states`` row (what the sensors recorded);
- regime: ``regime_states``; stability and fragility hot spots: ``stability_scores`` (least stable sectors),
  ``fragility_scores`` (most crowded names, flagged clusters);
- target and current portfolio: ``target_portfolios``, ``positions`` and ``cash``;
- exposures and ex-ante risk: ``risk_reports``; P&L: ``backtest_daily`` for a backtest, else ``cash.equity``;
- open orders: ``orders`` whose status is not terminal; alerts: ``alerts``; kill switch: ``risk_state``.

Every engine and execution read is for one ``experiment``: a backtest's name, or :data:`LIVE_EXPERIMENT` for the
PAPER/LIVE account. Where an experiment holds several config versions, the one of its latest decision is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from prometheus.calendar import TradingCalendar
from prometheus.core.time import utc_now
from prometheus.core.types import Market, MarketState
from prometheus.engines.fragility.schema import CLUSTER_PREFIX
from prometheus.engines.stability.schema import MARKET_ROW, SECTOR_PREFIX
from prometheus.execution.kill_switch import GLOBAL_SCOPE, KillSwitch, StateChange
from prometheus.execution.live import LIVE_EXPERIMENT
from prometheus.execution.types import OrderStatus, TradingState
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables import (
    alerts,
    backtest_daily,
    backtest_runs,
    cash,
    fragility_scores,
    market_states,
    orders,
    positions,
    regime_states,
    risk_reports,
    stability_scores,
    target_portfolios,
)

#: Sessions of regime and P&L history drawn on a market page.
HISTORY_SESSIONS = 250
#: Rows of each hot-spot table.
HOT_SPOTS = 5
#: Alerts listed on a page.
ALERT_LIMIT = 50

_UTC = pl.Datetime("us", "UTC")
#: Columns of :attr:`StabilityView.hot_spots`.
STABILITY_HOT_SPOTS: dict[str, pl.DataType] = {"sector": pl.String(), "score": pl.Float64(),
                                               "turbulent": pl.Boolean(), "absorption_ratio": pl.Float64(),
                                               "avg_correlation": pl.Float64()}  # fmt: skip
#: Columns of :attr:`FragilityView.hot_spots`.
FRAGILITY_HOT_SPOTS: dict[str, pl.DataType] = {"instrument": pl.String(), "score": pl.Float64(),
                                               "cluster_size": pl.Float64(), "own_corr": pl.Float64(),
                                               "amihud_trend": pl.Float64()}  # fmt: skip
#: Columns of :attr:`FragilityView.flagged_clusters`.
FLAGGED_CLUSTERS: dict[str, pl.DataType] = {"cluster": pl.String(), "score": pl.Float64(), "cluster_size": pl.Float64()}
#: Columns of :attr:`PortfolioView.holdings`.
HOLDINGS: dict[str, pl.DataType] = {"instrument": pl.String(), "target_weight": pl.Float64(), "quantity": pl.Float64(),
                                    "cost_basis": pl.Float64(), "average_price": pl.Float64(),
                                    "weight_at_cost": pl.Float64()}  # fmt: skip
#: Columns of :func:`open_orders` (those of ``orders``).
OPEN_ORDERS: dict[str, pl.DataType] = {"order_ref": pl.String(), "session": pl.Date(), "instrument": pl.String(),
                                       "side": pl.String(), "quantity": pl.Float64(), "filled_quantity": pl.Float64(),
                                       "order_type": pl.String(), "limit_price": pl.Float64(), "status": pl.String(),
                                       "updated_at": _UTC}  # fmt: skip
#: Columns of :func:`recent_alerts` (those of ``alerts``).
ALERTS: dict[str, pl.DataType] = {"id": pl.Int64(), "ts": _UTC, "severity": pl.String(), "source": pl.String(),
                                  "market": pl.String(), "message": pl.String(), "acknowledged_by": pl.String(),
                                  "acknowledged_at": _UTC}  # fmt: skip
_OPEN_STATUSES = tuple(s.value for s in OrderStatus if not s.is_terminal)


@dataclass(frozen=True, slots=True)
class Experiment:
    """An experiment the dashboard can show: a backtest of ``backtest_runs``, or the live account."""

    experiment: str
    status: str
    first_session: date | None
    last_session: date | None
    markets: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class MarketClock:
    """State now (TradingCalendar), its next transition, and the last transition the sensors recorded."""

    market: Market
    now: datetime
    state: MarketState
    next_state: MarketState
    next_at: datetime
    recorded_state: MarketState | None
    recorded_at: datetime | None


@dataclass(frozen=True, slots=True)
class RegimeView:
    """Latest regime and its probability history (columns ``session, label, confidence, p0 .. pK``)."""

    session: date | None
    label: str | None
    state: int | None
    confidence: float | None
    probabilities: tuple[float, ...]
    history: pl.DataFrame


@dataclass(frozen=True, slots=True)
class StabilityView:
    """The market's stability score and the least stable sectors of the latest session (1 stable, 0 least)."""

    session: date | None
    market_score: float | None
    components: Mapping[str, Any]
    hot_spots: pl.DataFrame  # sector, score, turbulent, absorption_ratio, avg_correlation


@dataclass(frozen=True, slots=True)
class FragilityView:
    """Most crowded names and the clusters flagged as crowded, latest session."""

    session: date | None
    hot_spots: pl.DataFrame  # instrument, score, cluster_size, own_corr, amihud_trend
    flagged_clusters: pl.DataFrame  # cluster, score, cluster_size


@dataclass(frozen=True, slots=True)
class PortfolioView:
    """Target weights beside the positions held (``weight_at_cost``: cost basis over equity, no live prices)."""

    target_session: date | None
    position_session: date | None
    equity: float | None
    cash: float | None
    holdings: pl.DataFrame  # instrument, target_weight, quantity, cost_basis, average_price, weight_at_cost


@dataclass(frozen=True, slots=True)
class RiskView:
    """Ex-ante risk of the latest target (fractions of equity) and its exposures (``report`` of risk_reports)."""

    session: date | None
    ex_ante_vol: float | None
    var_95: float | None
    es_95: float | None
    report: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PnlView:
    """Equity and P&L per session, from ``backtest_daily`` (a backtest) or ``cash.equity`` (the account)."""

    source: str
    last_session: date | None
    equity: float | None
    day_pnl: float | None
    total_pnl: float | None
    total_return: float | None
    history: pl.DataFrame  # session, equity, pnl


@dataclass(frozen=True, slots=True)
class KillSwitchView:
    """The kill-switch state in force for ``scope`` and its latest changes, newest first."""

    scope: str
    state: TradingState
    history: tuple[StateChange, ...]


@dataclass(frozen=True, slots=True)
class MarketSummary:
    """One row of the overview."""

    clock: MarketClock
    regime_label: str | None
    regime_confidence: float | None
    equity: float | None
    day_pnl: float | None
    open_orders: int
    open_alerts: int


@dataclass(frozen=True, slots=True)
class MarketPage:
    """Every panel of one market's page."""

    market: Market
    experiment: str
    clock: MarketClock
    regime: RegimeView
    stability: StabilityView
    fragility: FragilityView
    portfolio: PortfolioView
    risk: RiskView
    pnl: PnlView
    open_orders: pl.DataFrame
    alerts: pl.DataFrame
    kill_switch: KillSwitchView


# -- experiments and markets -------------------------------------------------------------------------------------


def list_experiments(store: RuntimeStore) -> list[Experiment]:
    """The live account first, then the backtests, newest first."""
    stmt = sa.select(backtest_runs).order_by(backtest_runs.c.started_at.desc(), backtest_runs.c.id.desc())
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    live = Experiment(LIVE_EXPERIMENT, "PAPER/LIVE", None, None, (), "the PAPER/LIVE account records")
    return [live] + [
        Experiment(r.experiment, r.status, r.first_session, r.last_session, tuple(r.markets), r.description)
        for r in rows
    ]


def markets_of(store: RuntimeStore, experiment: str) -> list[Market]:
    """Markets with any engine, account or backtest row in ``experiment`` (the live account: also those the
    sensors recorded), in the order of :class:`Market`."""
    found: set[str] = set()
    tables = (regime_states, target_portfolios, cash, orders, backtest_daily)
    with store.read() as conn:
        for table in tables:
            stmt = sa.select(table.c.market).where(table.c.experiment == experiment).distinct()
            found |= set(conn.execute(stmt).scalars())
        if experiment == LIVE_EXPERIMENT:
            found |= set(conn.execute(sa.select(market_states.c.market).distinct()).scalars())
    return [m for m in Market if m.value in found]


# -- panels ------------------------------------------------------------------------------------------------------


def market_clock(store: RuntimeStore, calendar: TradingCalendar, market: Market, now: datetime) -> MarketClock:
    """State of ``market`` at ``now`` and its next transition, with the latest recorded transition."""
    transition = calendar.next_transition(market, now)
    stmt = (
        sa.select(market_states.c.state, market_states.c.ts)
        .where(market_states.c.market == market.value, market_states.c.ts <= now)
        .order_by(market_states.c.ts.desc())
        .limit(1)
    )
    with store.read() as conn:
        row = conn.execute(stmt).first()
    return MarketClock(
        market=market,
        now=now,
        state=calendar.state(market, now),
        next_state=transition.state,
        next_at=transition.at,
        recorded_state=MarketState(row.state) if row else None,
        recorded_at=row.ts if row else None,
    )


def regime_view(store: RuntimeStore, market: Market, experiment: str, sessions: int = HISTORY_SESSIONS) -> RegimeView:
    """Latest regime of ``market`` and the filtered probabilities of its last ``sessions`` sessions."""
    with store.read() as conn:
        version = _latest_version(conn, regime_states, market, experiment)
        rows = _latest_rows(conn, regime_states, market, experiment, version, sessions)
    rows = rows[::-1]  # oldest first
    width = max((len(r.probabilities) for r in rows), default=0)
    data: dict[str, list[Any]] = {
        "session": [r.session for r in rows],
        "label": [r.label for r in rows],
        "confidence": [float(r.confidence) for r in rows],
    }
    for k in range(width):
        data[f"p{k}"] = [float(r.probabilities[k]) if k < len(r.probabilities) else None for r in rows]
    schema = {"session": pl.Date(), "label": pl.String(), "confidence": pl.Float64()}
    history = pl.DataFrame(data, schema=schema | {f"p{k}": pl.Float64() for k in range(width)})
    if not rows:
        return RegimeView(None, None, None, None, (), history)
    last = rows[-1]
    probabilities = tuple(float(p) for p in last.probabilities)
    return RegimeView(last.session, last.label, last.state, float(last.confidence), probabilities, history)


def stability_view(store: RuntimeStore, market: Market, experiment: str, top: int = HOT_SPOTS) -> StabilityView:
    """The market row and the ``top`` least stable sectors of the latest session."""
    with store.read() as conn:
        version = _latest_version(conn, stability_scores, market, experiment)
        session = _latest_session(conn, stability_scores, market, experiment, version)
        rows = _session_rows(conn, stability_scores, market, experiment, version, session)
    market_row = next((r for r in rows if r.instrument == MARKET_ROW), None)
    sectors = sorted((r for r in rows if r.instrument.startswith(SECTOR_PREFIX)), key=lambda r: (r.score, r.instrument))
    hot = [{"sector": r.instrument.removeprefix(SECTOR_PREFIX), "score": float(r.score),
            "turbulent": _component(r, "turbulent") == 1.0, "absorption_ratio": _component(r, "absorption_ratio"),
            "avg_correlation": _component(r, "avg_correlation")} for r in sectors[:top]]  # fmt: skip
    return StabilityView(
        session=session,
        market_score=float(market_row.score) if market_row else None,
        components=dict(market_row.components) if market_row else {},
        hot_spots=pl.DataFrame(hot, schema=STABILITY_HOT_SPOTS),
    )


def fragility_view(store: RuntimeStore, market: Market, experiment: str, top: int = HOT_SPOTS) -> FragilityView:
    """The ``top`` most crowded names and every flagged cluster of the latest session."""
    with store.read() as conn:
        version = _latest_version(conn, fragility_scores, market, experiment)
        session = _latest_session(conn, fragility_scores, market, experiment, version)
        rows = _session_rows(conn, fragility_scores, market, experiment, version, session)
    crowded = (r for r in rows if not r.instrument.startswith(CLUSTER_PREFIX))
    names = sorted(crowded, key=lambda r: (-r.score, r.instrument))
    clusters = sorted(
        (r for r in rows if r.instrument.startswith(CLUSTER_PREFIX) and _component(r, "flagged") == 1.0),
        key=lambda r: (-r.score, r.instrument),
    )
    hot = [{"instrument": r.instrument, "score": float(r.score), "cluster_size": _component(r, "cluster_size"),
            "own_corr": _component(r, "own_corr"), "amihud_trend": _component(r, "amihud_trend")}
           for r in names[:top]]  # fmt: skip
    flagged = [{"cluster": r.instrument.removeprefix(CLUSTER_PREFIX), "score": float(r.score),
                "cluster_size": _component(r, "cluster_size")} for r in clusters]  # fmt: skip
    return FragilityView(
        session, pl.DataFrame(hot, schema=FRAGILITY_HOT_SPOTS), pl.DataFrame(flagged, schema=FLAGGED_CLUSTERS)
    )


def portfolio_view(store: RuntimeStore, market: Market, experiment: str) -> PortfolioView:
    """Latest target weights joined (outer) with the latest position snapshot and its cash."""
    with store.read() as conn:
        version = _latest_version(conn, target_portfolios, market, experiment)
        target_session = _latest_session(conn, target_portfolios, market, experiment, version)
        targets = _session_rows(conn, target_portfolios, market, experiment, version, target_session)
        position_session = _latest_session(conn, cash, market, experiment, None)
        held = _session_rows(conn, positions, market, experiment, None, position_session)
        balance = _session_rows(conn, cash, market, experiment, None, position_session)
    equity = next((float(r.equity) for r in balance if r.equity is not None), None)
    cash_balance = float(sum(r.balance for r in balance)) if balance else None
    weights = {r.instrument: float(r.weight) for r in targets}
    book = {r.instrument: r for r in held}
    rows = []
    for instrument in sorted(set(weights) | set(book)):
        pos = book.get(instrument)
        quantity = float(pos.quantity) if pos else 0.0
        basis = float(pos.cost_basis) if pos else 0.0
        rows.append(
            {
                "instrument": instrument,
                "target_weight": weights.get(instrument),
                "quantity": quantity,
                "cost_basis": basis,
                "average_price": basis / quantity if quantity else None,
                "weight_at_cost": basis / equity if equity else None,
            }
        )
    holdings = pl.DataFrame(rows, schema=HOLDINGS)
    return PortfolioView(target_session, position_session, equity, cash_balance, holdings)


def risk_view(store: RuntimeStore, market: Market, experiment: str) -> RiskView:
    """The ex-ante risk report of the latest target portfolio."""
    with store.read() as conn:
        version = _latest_version(conn, risk_reports, market, experiment)
        session = _latest_session(conn, risk_reports, market, experiment, version)
        rows = _session_rows(conn, risk_reports, market, experiment, version, session)
    if not rows:
        return RiskView(None, None, None, None, {})
    r = rows[0]
    return RiskView(session, r.ex_ante_vol, r.var_95, r.es_95, dict(r.report))


def pnl_view(store: RuntimeStore, market: Market, experiment: str, sessions: int = HISTORY_SESSIONS) -> PnlView:
    """Equity per session and the P&L of the last session and since the first one shown."""
    daily_stmt = (
        sa.select(backtest_daily.c.session, backtest_daily.c.equity)
        .where(backtest_daily.c.market == market.value, backtest_daily.c.experiment == experiment)
        .where(backtest_daily.c.equity.is_not(None))
        .order_by(backtest_daily.c.session.desc())
        .limit(sessions)
    )
    cash_stmt = (
        sa.select(cash.c.session, sa.func.sum(cash.c.equity).label("equity"))
        .where(cash.c.market == market.value, cash.c.experiment == experiment, cash.c.equity.is_not(None))
        .group_by(cash.c.session)
        .order_by(cash.c.session.desc())
        .limit(sessions)
    )
    with store.read() as conn:
        source, rows = "backtest_daily", conn.execute(daily_stmt).all()
        if not rows:
            source, rows = "cash", conn.execute(cash_stmt).all()
    rows = rows[::-1]
    equity = [float(r.equity) for r in rows]
    # The first session shown has no previous equity in view, so no P&L.
    pnl = [None, *(b - a for a, b in zip(equity, equity[1:], strict=False))][: len(equity)]
    history = pl.DataFrame(
        {"session": [r.session for r in rows], "equity": equity, "pnl": pnl},
        schema={"session": pl.Date(), "equity": pl.Float64(), "pnl": pl.Float64()},
    )
    if not rows:
        return PnlView(source, None, None, None, None, None, history)
    total = equity[-1] - equity[0]
    return PnlView(
        source=source,
        last_session=rows[-1].session,
        equity=equity[-1],
        day_pnl=pnl[-1],
        total_pnl=total,
        total_return=total / equity[0] if equity[0] else None,
        history=history,
    )


def open_orders(store: RuntimeStore, market: Market, experiment: str) -> pl.DataFrame:
    """Orders of ``market`` not yet filled, cancelled or rejected, oldest session first."""
    stmt = (
        sa.select(*(orders.c[name] for name in OPEN_ORDERS))
        .where(orders.c.market == market.value, orders.c.experiment == experiment)
        .where(orders.c.status.in_(_OPEN_STATUSES))
        .order_by(orders.c.session, orders.c.order_ref)
    )
    with store.read() as conn:
        rows = [tuple(r) for r in conn.execute(stmt)]
    return pl.DataFrame(rows, schema=OPEN_ORDERS, orient="row")


def recent_alerts(
    store: RuntimeStore, market: Market | None = None, *, limit: int = ALERT_LIMIT, open_only: bool = False
) -> pl.DataFrame:
    """Alerts, newest first: of ``market`` and the platform-wide ones (market NULL), or all when ``market`` is
    None; ``open_only`` keeps the unacknowledged ones."""
    stmt = sa.select(*(alerts.c[name] for name in ALERTS)).order_by(alerts.c.ts.desc(), alerts.c.id.desc()).limit(limit)
    if market is not None:
        stmt = stmt.where(sa.or_(alerts.c.market == market.value, alerts.c.market.is_(None)))
    if open_only:
        stmt = stmt.where(alerts.c.acknowledged_at.is_(None))
    with store.read() as conn:
        rows = [tuple(r) for r in conn.execute(stmt)]
    return pl.DataFrame(rows, schema=ALERTS, orient="row")


def open_alert_count(store: RuntimeStore, market: Market) -> int:
    """Unacknowledged alerts of ``market`` and platform-wide ones (market NULL)."""
    stmt = sa.select(sa.func.count()).select_from(alerts).where(alerts.c.acknowledged_at.is_(None))
    stmt = stmt.where(sa.or_(alerts.c.market == market.value, alerts.c.market.is_(None)))
    with store.read() as conn:
        return int(conn.execute(stmt).scalar_one())


def kill_switch_view(store: RuntimeStore, scope: str = GLOBAL_SCOPE, limit: int = 10) -> KillSwitchView:
    """State in force for ``scope`` (ACTIVE when never set) and its last ``limit`` changes."""
    changes = tuple(KillSwitch(store, scope).history(limit=limit))
    return KillSwitchView(scope, changes[0].state if changes else TradingState.ACTIVE, changes)


def halt(
    store: RuntimeStore, reason: str, set_by: str, scope: str = GLOBAL_SCOPE, clock: Callable[[], datetime] = utc_now
) -> StateChange:
    """Halt trading for ``scope`` through the kill switch (a new ``risk_state`` row; history kept)."""
    return KillSwitch(store, scope, clock=clock).set(TradingState.HALTED, reason, set_by)


# -- pages -------------------------------------------------------------------------------------------------------


def market_page(
    store: RuntimeStore,
    calendar: TradingCalendar,
    market: Market,
    experiment: str,
    now: datetime,
    scope: str = GLOBAL_SCOPE,
) -> MarketPage:
    """Every panel of ``market`` for ``experiment`` at ``now``."""
    return MarketPage(
        market=market,
        experiment=experiment,
        clock=market_clock(store, calendar, market, now),
        regime=regime_view(store, market, experiment),
        stability=stability_view(store, market, experiment),
        fragility=fragility_view(store, market, experiment),
        portfolio=portfolio_view(store, market, experiment),
        risk=risk_view(store, market, experiment),
        pnl=pnl_view(store, market, experiment),
        open_orders=open_orders(store, market, experiment),
        alerts=recent_alerts(store, market),
        kill_switch=kill_switch_view(store, scope),
    )


def overview(store: RuntimeStore, calendar: TradingCalendar, experiment: str, now: datetime) -> list[MarketSummary]:
    """One summary per market of ``experiment`` (every known market when it has none yet)."""
    found = markets_of(store, experiment) or list(Market)
    out = []
    for market in found:
        regime = regime_view(store, market, experiment, sessions=1)
        pnl = pnl_view(store, market, experiment, sessions=2)
        out.append(
            MarketSummary(
                clock=market_clock(store, calendar, market, now),
                regime_label=regime.label,
                regime_confidence=regime.confidence,
                equity=pnl.equity,
                day_pnl=pnl.day_pnl,
                open_orders=open_orders(store, market, experiment).height,
                open_alerts=open_alert_count(store, market),
            )
        )
    return out


# -- helpers -----------------------------------------------------------------------------------------------------


def _latest_version(conn: Connection, table: sa.Table, market: Market, experiment: str) -> str | None:
    # An experiment re-run with another config keeps both versions side by side: show the latest decision's.
    stmt = (
        sa.select(table.c.config_version)
        .where(table.c.market == market.value, table.c.experiment == experiment)
        .order_by(table.c.session.desc(), table.c.decision_time.desc())
        .limit(1)
    )
    return conn.execute(stmt).scalar()


def _where(table: sa.Table, market: Market, experiment: str, version: str | None) -> list[sa.ColumnElement[bool]]:
    clauses = [table.c.market == market.value, table.c.experiment == experiment]
    if version is not None:
        clauses.append(table.c.config_version == version)
    return clauses


def _latest_session(
    conn: Connection, table: sa.Table, market: Market, experiment: str, version: str | None
) -> date | None:
    stmt = sa.select(sa.func.max(table.c.session)).where(*_where(table, market, experiment, version))
    return conn.execute(stmt).scalar()


def _session_rows(
    conn: Connection, table: sa.Table, market: Market, experiment: str, version: str | None, session: date | None
) -> list[sa.Row[Any]]:
    if session is None:
        return []
    stmt = sa.select(table).where(*_where(table, market, experiment, version), table.c.session == session)
    return list(conn.execute(stmt.order_by(table.c.id)))


def _latest_rows(
    conn: Connection, table: sa.Table, market: Market, experiment: str, version: str | None, limit: int
) -> list[sa.Row[Any]]:
    stmt = sa.select(table).where(*_where(table, market, experiment, version))
    return list(conn.execute(stmt.order_by(table.c.session.desc()).limit(limit)))


def _component(row: sa.Row[Any], name: str) -> float | None:
    value = (row.components or {}).get(name)
    return float(value) if value is not None else None
