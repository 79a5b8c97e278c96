"""A small runtime store with known rows for the operator dashboard's tests (no engine runs: rows inserted).

US_EQ carries every panel for the live account (experiment ``live``): five regime sessions (plus an older config
version that must not be shown), stability and fragility scores, a target portfolio, positions and cash, a risk
report, open and finished orders, alerts, a recorded market state and an ACTIVE kill switch; EU_EQ has a regime
and an account only. The backtest ``bt1``
has its own regime rows and ``backtest_daily`` equity. Figures are round so tests can compute them by hand.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from prometheus.execution.kill_switch import GLOBAL_SCOPE, KillSwitch
from prometheus.execution.live import LIVE_EXPERIMENT
from prometheus.execution.types import TradingState
from prometheus.runtime import RuntimeStore
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

LIVE = LIVE_EXPERIMENT
BACKTEST = "bt1"
MARKET = "US_EQ"
VERSION = "v1"
#: The XNYS sessions of the seeded week (26 Nov 2026 is Thanksgiving).
SESSIONS = (date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27))
LAST = SESSIONS[-1]
#: Monday 30 Nov 2026, 10:00 New York: US_EQ is OPEN and enters POST_CLOSE at the 16:00 close (21:00 UTC).
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
#: Regime probabilities (calm, normal, crisis) per session, oldest first; the last one is shown.
PROBABILITIES = ((0.7, 0.2, 0.1), (0.6, 0.3, 0.1), (0.3, 0.5, 0.2), (0.2, 0.3, 0.5), (0.1, 0.2, 0.7))
LABELS = ("calm", "calm", "normal", "crisis", "crisis")
TARGETS = {"AAA": 0.25, "BBB": -0.10, "CCC": 0.0}
#: instrument -> (quantity, cost basis)
POSITIONS = {"AAA": (100.0, 10_000.0), "DDD": (50.0, 2_500.0)}
#: Account equity per session (the last two sessions: 1,000,000 then 1,012,500).
EQUITY = {SESSIONS[-2]: 1_000_000.0, LAST: 1_012_500.0}
CASH_BALANCE = 990_000.0
#: EU_EQ account equity per session (all cash).
EU_EQUITY = {SESSIONS[-2]: 500_000.0, LAST: 497_000.0}
BACKTEST_EQUITY = (100.0, 101.0, 99.5)


def decided(session: date) -> datetime:
    """Decision time of ``session``: 21:30 UTC, after the close."""
    return datetime(session.year, session.month, session.day, 21, 30, tzinfo=UTC)


def _ids(session: date, experiment: str = LIVE, version: str = VERSION) -> dict[str, Any]:
    return {"market": MARKET, "session": session, "decision_time": decided(session), "experiment": experiment,
            "config_version": version}  # fmt: skip


def _score(session: date, instrument: str, score: float, **components: float | None) -> dict[str, Any]:
    return _ids(session) | {"instrument": instrument, "score": score, "components": components}


def _order(ref: str, instrument: str, side: str, quantity: float, status: str, filled: float) -> dict[str, Any]:
    return _ids(LAST) | {"order_ref": ref, "instrument": instrument, "side": side, "quantity": quantity,
                         "order_type": "MOO", "limit_price": None, "intent": "REBALANCE", "status": status,
                         "filled_quantity": filled, "average_fill_price": 0.0, "updated_at": decided(LAST)}  # fmt: skip


def seed_dashboard_store(store: RuntimeStore) -> None:
    """Migrate ``store`` and insert the known rows described in the module docstring."""
    store.upgrade()
    regime = [
        _ids(s) | {"state": ["calm", "normal", "crisis"].index(label), "label": label, "probabilities": list(p),
                   "confidence": max(p)}
        for s, label, p in zip(SESSIONS, LABELS, PROBABILITIES, strict=True)
    ]  # fmt: skip
    # An older config version of the same experiment: the dashboard shows the version of the latest decision.
    regime.append(_ids(SESSIONS[0], version="v0") | {"state": 0, "label": "calm", "probabilities": [1.0, 0.0, 0.0],
                                                    "confidence": 1.0})  # fmt: skip
    regime.append(_ids(LAST, BACKTEST) | {"state": 0, "label": "calm", "probabilities": [0.9, 0.05, 0.05],
                                         "confidence": 0.9})  # fmt: skip
    # A second market with a regime and an account only: the overview lists it beside US_EQ.
    regime.append(_ids(LAST) | {"market": "EU_EQ", "state": 1, "label": "normal", "probabilities": [0.3, 0.6, 0.1],
                                "confidence": 0.6})  # fmt: skip
    store.upsert(regime_states, regime)
    store.upsert(
        stability_scores,
        [
            _score(LAST, "", 0.42, turbulent=0.0, absorption_ratio=0.61, avg_correlation=0.33),
            _score(LAST, "sector:Technology", 0.10, turbulent=1.0, absorption_ratio=0.80, avg_correlation=0.55),
            _score(LAST, "sector:Energy", 0.55, turbulent=0.0, absorption_ratio=0.50, avg_correlation=0.30),
            _score(LAST, "sector:Health", 0.80, turbulent=0.0, absorption_ratio=0.40, avg_correlation=0.20),
            _score(SESSIONS[-2], "", 0.90, turbulent=0.0, absorption_ratio=0.40, avg_correlation=0.20),
        ],
    )
    store.upsert(
        fragility_scores,
        [
            _score(LAST, "AAA", 0.90, cluster_size=3.0, own_corr=0.45, amihud_trend=0.2, flagged=1.0),
            _score(LAST, "BBB", 0.50, cluster_size=3.0, own_corr=0.30, amihud_trend=-0.1, flagged=1.0),
            _score(LAST, "CCC", 0.10, cluster_size=2.0, own_corr=0.05, amihud_trend=0.0, flagged=0.0),
            _score(LAST, "cluster:AAA", 0.60, cluster_size=3.0, flagged=1.0),
            _score(LAST, "cluster:CCC", 0.05, cluster_size=2.0, flagged=0.0),
        ],
    )
    store.upsert(
        target_portfolios,
        [_ids(LAST) | {"instrument": k, "weight": w, "expected_return": 0.01, "risk_contribution": 0.02}
         for k, w in TARGETS.items()],
    )  # fmt: skip
    report = {"gross": 0.35, "net": 0.15, "beta": 0.8, "n_names": 2, "turnover": 0.05, "status": "optimal",
              "budget_scale": 0.75, "factor_exposure_norm": 0.01, "top_sectors": "Technology:0.2500",
              "expected_return": 0.004, "cost": 0.0002}  # fmt: skip
    store.upsert(
        risk_reports, [_ids(LAST) | {"ex_ante_vol": 0.12, "var_95": 0.0124, "es_95": 0.0156, "report": report}]
    )
    snapshot = {"market": MARKET, "experiment": LIVE, "config_version": VERSION}
    store.upsert(
        positions,
        [snapshot | {"session": LAST, "instrument": k, "quantity": q, "cost_basis": c, "as_of": decided(LAST)}
         for k, (q, c) in POSITIONS.items()],
    )  # fmt: skip
    store.upsert(
        cash,
        [snapshot | {"session": s, "currency": "USD", "balance": CASH_BALANCE, "equity": e, "as_of": decided(s)}
         for s, e in EQUITY.items()]
        + [snapshot | {"market": "EU_EQ", "session": s, "currency": "EUR", "balance": e, "equity": e,
                       "as_of": decided(s)} for s, e in EU_EQUITY.items()],
    )  # fmt: skip
    store.upsert(
        orders,
        [
            _order("live-US_EQ-AAA-1", "AAA", "BUY", 150.0, "SUBMITTED", 0.0),
            _order("live-US_EQ-BBB-1", "BBB", "SELL", 40.0, "PARTIALLY_FILLED", 10.0),
            _order("live-US_EQ-CCC-1", "CCC", "SELL", 30.0, "FILLED", 30.0),
        ],
    )
    with store.begin() as conn:
        unacknowledged = {"acknowledged_by": None, "acknowledged_at": None}
        conn.execute(
            sa.insert(alerts),
            [
                {"ts": NOW - timedelta(hours=3), "severity": "CRITICAL", "source": "run_failure", "market": MARKET,
                 "message": "us_eq daily cycle failed", "details": {"run_id": "r1"}} | unacknowledged,
                {"ts": NOW - timedelta(hours=2), "severity": "WARNING", "source": "ib_broker", "market": None,
                 "message": "IB gateway reconnected", "details": None} | unacknowledged,
                {"ts": NOW - timedelta(hours=1), "severity": "INFO", "source": "qc", "market": "EU_EQ",
                 "message": "eu_eq quarantine 2 rows", "details": None, "acknowledged_by": "ops",
                 "acknowledged_at": NOW},
            ],
        )  # fmt: skip
        conn.execute(
            sa.insert(market_states).values(
                market=MARKET, ts=NOW - timedelta(hours=1), state="OPEN", session=NOW.date()
            )
        )
        conn.execute(
            sa.insert(backtest_runs).values(
                experiment=BACKTEST, description="seeded backtest", markets=[MARKET], config_versions={},
                first_session=SESSIONS[-3], last_session=LAST, status="SUCCEEDED", started_at=NOW - timedelta(days=1),
            )
        )  # fmt: skip
    store.upsert(
        backtest_daily,
        [{"experiment": BACKTEST, "market": MARKET, "session": s, "config_version": VERSION, "known_at": decided(s),
          "equity": e} for s, e in zip(SESSIONS[-3:], BACKTEST_EQUITY, strict=True)],
    )  # fmt: skip
    KillSwitch(store, GLOBAL_SCOPE, clock=lambda: NOW - timedelta(days=1)).set(TradingState.ACTIVE, "seeded", "kit")
