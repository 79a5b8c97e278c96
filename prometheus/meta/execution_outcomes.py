"""Execution outcomes: the trading cost the cost model expected for a session's orders beside what the fills
realised, one ``decision_outcomes`` row per decision session (engine ``execution``, horizon 1).

The orders decided at the close of session ``t`` trade in session ``t+1``; their costs are known once that
session's fills are, so a row's ``known_at`` is the decision time of ``t+1`` (the same rule as every horizon-1
outcome). Per order figures come from :func:`prometheus.backtest.execution_quality.order_costs`; this module only
aggregates them by decision session, notional-weighted:

* ``outcome``: realised minus expected cost, basis points of the filled decision notional (positive: execution
  cost more than the model said);
* ``metrics``: orders, orders filled, fill rate (shares), expected / realised / shortfall bps, the median
  participation and the largest per-order surprise in bps.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta

import polars as pl

from prometheus.calendar import TradingCalendar
from prometheus.core.types import Market
from prometheus.data.known_at import decision_times
from prometheus.meta.outcomes import OUTCOME_SCHEMA

#: Engine name of execution rows in ``decision_outcomes``.
EXECUTION_ENGINE = "execution"


def execution_outcomes(
    costs: pl.DataFrame,
    calendar: TradingCalendar,
    market: Market,
    experiment: str,
    config_version: str,
    bar_delay: timedelta,
) -> pl.DataFrame:
    """One :data:`~prometheus.meta.outcomes.OUTCOME_SCHEMA` row per decision session of ``costs`` (the
    :func:`~prometheus.backtest.execution_quality.order_costs` frame of one experiment); ``config_version`` is the
    cost model's (the backtest config that priced the expectation)."""
    if costs.is_empty():
        return pl.DataFrame(schema=OUTCOME_SCHEMA)
    days = calendar.sessions(market, costs["decision_session"].min(), costs["session"].max())
    times = dict(zip(days, decision_times(calendar, market, days, bar_delay), strict=True))
    rows = []
    for (decided,), part in costs.sort("decision_session").group_by(["decision_session"], maintain_order=True):
        traded = part["session"].max()
        filled = part.filter(pl.col("filled_quantity") > 0)
        notional = float((filled["filled_quantity"] * filled["decision_price"]).sum())
        ordered = float((part["quantity"] * part["decision_price"]).sum())
        expected_on_filled = float(
            (filled["expected_bps"] * filled["filled_quantity"] * filled["decision_price"]).sum()
        )
        expected_bps = expected_on_filled / notional if notional > 0 else math.nan
        realised_bps = 1e4 * float(filled["realised_cost"].sum()) / notional if notional > 0 else math.nan
        shortfall_bps = 1e4 * float(filled["shortfall"].sum()) / notional if notional > 0 else math.nan
        surprise = (filled["realised_bps"] - filled["expected_bps"]).abs()
        metrics = {
            "orders": part.height,
            "orders_filled": filled.height,
            "fill_rate": float(part["filled_quantity"].sum() / part["quantity"].sum()),
            "ordered_notional": ordered,
            "filled_notional": notional,
            "expected_bps": _finite(expected_bps),
            "realised_bps": _finite(realised_bps),
            "shortfall_bps": _finite(shortfall_bps),
            "median_participation": _finite(float(part["participation"].median() or math.nan)),
            "max_surprise_bps": _finite(float(surprise.max())) if filled.height else None,
        }
        rows.append({
            "engine": EXECUTION_ENGINE, "market": market.value, "session": decided,
            "decision_time": times[decided], "experiment": experiment, "config_version": config_version,
            "decision_key": f"{EXECUTION_ENGINE}|{decided.isoformat()}",
            "horizon_sessions": 1, "outcome": realised_bps - expected_bps if notional > 0 else math.nan,
            "metrics": json.dumps(metrics, sort_keys=True),
            # Known once the fills of the session the orders traded in are: that session's decision time.
            "known_at": times[traded],
        })  # fmt: skip
    return pl.DataFrame(rows, schema=OUTCOME_SCHEMA)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
