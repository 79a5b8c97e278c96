"""Decision outcomes: what the market did in the ``H`` sessions after each engine decision.

For a decision of session ``t`` and a horizon ``H`` the outcome uses the realised returns of sessions
``t+1 .. t+H`` only, so it is known at the decision time of session ``t+H`` at the earliest; ``known_at`` is that
time, or later when a row it used (a late bar, a revision) became known later. A decision whose ``t+H`` is past
the data has no outcome yet: rows are never written before their horizon has passed.

Per engine (``outcome`` is the headline figure, ``metrics`` the rest, as JSON):

========== ========================================================= ==========================================
engine     outcome                                                   metrics
========== ========================================================= ==========================================
regime     realised annualised volatility of the market              label, confidence, market return,
                                                                     max drawdown
stability  worst daily market return (the tail move)                 score, realised volatility
fragility  Spearman of the names' scores with their worst daily      names, worst return of the flagged
           loss (positive: the fragile names fell most)              clusters' members and of the others
assessment Spearman of the scores with the forward return (the IC)   names, top-minus-bottom decile return
portfolio  buy-and-hold P&L of the target weights (fraction of       predicted (ex-ante) and realised
           capital)                                                  volatility, P&L attribution: market,
                                                                     sector, specific
========== ========================================================= ==========================================

The market is the equal-weighted total return of the names with a bar that session (the market series'
fallback); a name without a bar on a session of the horizon has no forward return (it is left out of ranks, and
counts as 0 in the portfolio's P&L, reported as ``missing``). Execution costs (expected vs realised, from the
orders and fills) are the ``execution`` rows of :mod:`prometheus.meta.execution_outcomes`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa
from scipy.stats import spearmanr

from prometheus.calendar import TradingCalendar
from prometheus.core.time import utc_now
from prometheus.core.types import Market
from prometheus.data.known_at import decision_times
from prometheus.data.schema import UTC_DATETIME, Table
from prometheus.data.timemachine import TimeMachine
from prometheus.runtime.decision_log import DecisionLog
from prometheus.runtime.frames import frame_of
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables import decision_outcomes as outcomes_table

#: Horizons (sessions) of the outcomes by default.
DEFAULT_HORIZONS: tuple[int, ...] = (1, 5, 21)
#: Engines whose decisions get outcomes.
OUTCOME_ENGINES: tuple[str, ...] = ("regime", "stability", "fragility", "assessment", "portfolio")
#: Sessions a year, to annualise volatility.
_YEAR = 252
#: Prefix of cluster rows in the fragility output (names are everything else).
_CLUSTER_PREFIX = "cluster:"

#: Columns of an outcomes frame (``metrics`` is JSON text).
OUTCOME_SCHEMA = pl.Schema(
    {
        "engine": pl.String(),
        "market": pl.String(),
        "session": pl.Date(),
        "decision_time": UTC_DATETIME,
        "experiment": pl.String(),
        "config_version": pl.String(),
        "decision_key": pl.String(),
        "horizon_sessions": pl.Int64(),
        "outcome": pl.Float64(),
        "metrics": pl.String(),
        "known_at": UTC_DATETIME,
    }
)


@dataclass(frozen=True)
class RealisedMarket:
    """Realised total returns of a market's names per session, as one view knows them.

    ``returns[s, k]`` is name ``k``'s total return on ``sessions[s]`` (NaN without a bar); ``known[s]`` the latest
    ``known_at`` of that session's rows, ``decision_times[s]`` the session's decision time.
    """

    sessions: tuple[date, ...]
    decision_times: tuple[datetime, ...]
    known: tuple[datetime | None, ...]
    symbols: np.ndarray
    sectors: np.ndarray
    returns: np.ndarray

    def market(self) -> np.ndarray:
        """(sessions,) equal-weighted return of the names with a bar (NaN where none has one)."""
        counts = np.isfinite(self.returns).sum(axis=1)
        total = np.nansum(self.returns, axis=1)
        return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)

    def index(self, session: date) -> int | None:
        """Position of ``session`` (None when it is not one of the sessions)."""
        pos = int(np.searchsorted(np.array(self.sessions, dtype="datetime64[D]"), np.datetime64(session, "D")))
        return pos if pos < len(self.sessions) and self.sessions[pos] == session else None


def realised_market(
    view: TimeMachine, market: Market, sessions: Sequence[date], decision_times: Sequence[datetime]
) -> RealisedMarket:
    """The realised returns of ``sessions`` (increasing) as ``view`` knows them, with each session's latest
    ``known_at``; sectors as known at the view."""
    bars = view.table(Table.PRICES_ADJUSTED, market=market, start=sessions[0], end=sessions[-1],
                      columns=["date", "symbol", "total_return", "known_at"])  # fmt: skip
    bars = bars.filter(pl.col("date").is_in(list(sessions)))
    symbols = np.array(sorted(bars["symbol"].unique().to_list()), dtype=object)
    ref = view.table(Table.INSTRUMENTS, market=market, columns=["symbol", "sector", "date"])
    latest = ref.sort("date").group_by("symbol").agg(pl.col("sector").last())
    sector_of = dict(zip(latest["symbol"].to_list(), latest["sector"].to_list(), strict=True))
    row = {d: i for i, d in enumerate(sessions)}
    col = {s: k for k, s in enumerate(symbols.tolist())}
    returns = np.full((len(sessions), len(symbols)), np.nan)
    rr = np.array([row[d] for d in bars["date"].to_list()], dtype=np.int64)
    cc = np.array([col[s] for s in bars["symbol"].to_list()], dtype=np.int64)
    returns[rr, cc] = bars["total_return"].fill_null(np.nan).to_numpy()
    latest_known = bars.group_by("date").agg(pl.col("known_at").max())
    known_of = dict(zip(latest_known["date"].to_list(), latest_known["known_at"].to_list(), strict=True))
    return RealisedMarket(
        sessions=tuple(sessions),
        decision_times=tuple(decision_times),
        known=tuple(known_of.get(d) for d in sessions),
        symbols=symbols,
        sectors=np.array([sector_of.get(s) or "" for s in symbols.tolist()], dtype=object),
        returns=returns,
    )


def decision_outcomes(
    engine: str,
    decisions: pl.DataFrame,
    realised: RealisedMarket,
    *,
    outputs: pl.DataFrame | None = None,
    risk: pl.DataFrame | None = None,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
) -> pl.DataFrame:
    """Outcomes (:data:`OUTCOME_SCHEMA`) of ``decisions`` (engine_decisions rows: market, session, decision_time,
    experiment, config_version, decision_key, payload) for every horizon that has passed within ``realised``.

    ``outputs`` are the engine's per-name rows (session, instrument, score / weight) for fragility, assessment and
    portfolio; ``risk`` the portfolio's risk reports (session, ex_ante_vol).
    """
    if engine not in OUTCOME_ENGINES:
        raise ValueError(f"no outcome is defined for engine {engine!r} (one of {', '.join(OUTCOME_ENGINES)})")
    market = realised.market()
    per_session = _by_session(outputs)
    predicted = dict(zip(risk["session"].to_list(), risk["ex_ante_vol"].to_list(), strict=True)) if risk is not None \
        else {}  # fmt: skip
    # The data ends at the last session with a bar: sessions after it (the calendar runs on) are not outcomes yet.
    end = max((s for s, k in enumerate(realised.known) if k is not None), default=-1)
    rows: list[dict[str, Any]] = []
    for d in decisions.iter_rows(named=True):
        i = realised.index(d["session"])
        if i is None:
            continue
        for h in horizons:
            j = i + h
            if j > end:
                continue  # the horizon has not passed within the data: no outcome yet
            window = slice(i + 1, j + 1)
            found = _outcome(engine, d, realised, market, window, per_session.get(d["session"]),
                             predicted.get(d["session"]))  # fmt: skip
            if found is None:
                continue
            value, metrics = found
            known = [k for k in realised.known[window] if k is not None]
            rows.append({
                "engine": engine, "market": d["market"], "session": d["session"], "decision_time": d["decision_time"],
                "experiment": d["experiment"], "config_version": d["config_version"],
                "decision_key": d.get("decision_key") or "", "horizon_sessions": h, "outcome": value,
                "metrics": json.dumps(metrics, sort_keys=True),
                "known_at": max([realised.decision_times[j], *known]),
            })  # fmt: skip
    return pl.DataFrame(rows, schema=OUTCOME_SCHEMA)


def _by_session(outputs: pl.DataFrame | None) -> dict[date, pl.DataFrame]:
    if outputs is None or outputs.is_empty():
        return {}
    return {key[0]: part for key, part in outputs.partition_by("session", as_dict=True).items()}


def _outcome(
    engine: str,
    decision: Mapping[str, Any],
    realised: RealisedMarket,
    market: np.ndarray,
    window: slice,
    rows: pl.DataFrame | None,
    predicted_vol: float | None,
) -> tuple[float, dict[str, Any]] | None:
    payload = decision["payload"] if isinstance(decision["payload"], Mapping) else json.loads(decision["payload"])
    m = market[window]
    if engine == "regime":
        return _vol(m), {"label": payload.get("label"), "confidence": payload.get("confidence"),
                         "market_return": _compound(m), "max_drawdown": _drawdown(m)}  # fmt: skip
    if engine == "stability":
        worst = float(np.min(m)) if m.size and np.isfinite(m).all() else math.nan
        return worst, {"score": payload.get("score"), "realised_vol": _vol(m)}
    if rows is None or rows.is_empty():
        return None
    names = rows.filter(~pl.col("instrument").str.starts_with(_CLUSTER_PREFIX))
    cols = _columns(realised, names["instrument"].to_list())
    r = realised.returns[window][:, np.maximum(cols, 0)]
    r[:, cols < 0] = np.nan
    complete = np.isfinite(r).all(axis=0)
    if engine == "fragility":
        worst = np.where(complete, np.min(np.where(np.isfinite(r), r, np.inf), axis=0), np.nan)
        score = names["score"].to_numpy()
        flagged = {s for f in payload.get("flagged", []) for s in f.get("members", [])}
        is_flagged = np.array([s in flagged for s in names["instrument"].to_list()])
        return _spearman(score, -worst), {
            "names": int(complete.sum()),
            "flagged_worst": _mean(worst[is_flagged & complete]),
            "others_worst": _mean(worst[~is_flagged & complete]),
        }
    forward = np.where(complete, np.prod(1.0 + np.nan_to_num(r), axis=0) - 1.0, np.nan)
    if engine == "assessment":
        score = names["score"].to_numpy()
        return _spearman(score, forward), {"names": int(complete.sum()), "model": payload.get("model"),
                                           "decile_spread": _decile_spread(score, forward)}  # fmt: skip
    return _portfolio(names, realised, r, forward, m, predicted_vol, cols)


def _portfolio(
    names: pl.DataFrame, realised: RealisedMarket, r: np.ndarray, forward: np.ndarray, m: np.ndarray,
    predicted_vol: float | None, cols: np.ndarray,
) -> tuple[float, dict[str, Any]]:  # fmt: skip
    """Buy-and-hold P&L of the weights over the window, its realised volatility (fixed weights) beside the ex-ante
    one, and its attribution: market (net exposure x market return), sector (each name's sector return over the
    market), specific (the rest)."""
    w = names["weight"].to_numpy().astype(float)
    fwd = np.nan_to_num(forward)  # a name without bars counts 0 (reported as missing)
    pnl = float(w @ fwd)
    daily = np.nan_to_num(r) @ w
    market = _compound(m)
    sectors = np.where(cols >= 0, realised.sectors[np.maximum(cols, 0)], "")
    sector_ret = np.zeros(len(w))
    for sector in set(sectors.tolist()):
        members = (sectors == sector) & np.isfinite(forward)
        if sector and members.any():
            sector_ret[sectors == sector] = float(np.mean(forward[members])) - market
    market_part = float(w.sum() * market) if math.isfinite(market) else math.nan
    sector_part = float(w @ sector_ret)
    return pnl, {
        "names": int(np.count_nonzero(w)),
        "missing": int(np.count_nonzero(w[~np.isfinite(forward)])),
        "predicted_vol": predicted_vol,
        "realised_vol": _vol(daily),
        "market": market_part,
        "sector": sector_part,
        "specific": pnl - market_part - sector_part if math.isfinite(market_part) else math.nan,
    }


def _columns(realised: RealisedMarket, symbols: Sequence[str]) -> np.ndarray:
    """Column of each symbol in ``realised`` (-1 when it has no bar in the range)."""
    col = {s: k for k, s in enumerate(realised.symbols.tolist())}
    return np.array([col.get(s, -1) for s in symbols], dtype=np.int64)


def _vol(r: np.ndarray) -> float:
    """Annualised volatility: the standard deviation of the returns, or |r| for a single session."""
    if r.size == 0 or not np.isfinite(r).all():
        return math.nan
    return float((np.std(r) if r.size > 1 else abs(float(r[0]))) * math.sqrt(_YEAR))


def _compound(r: np.ndarray) -> float:
    return float(np.prod(1.0 + r) - 1.0) if r.size and np.isfinite(r).all() else math.nan


def _drawdown(r: np.ndarray) -> float:
    """Largest fall from a peak of the compounded path (starting at 1) within the window; 0 when it only rose."""
    if r.size == 0 or not np.isfinite(r).all():
        return math.nan
    path = np.concatenate([[1.0], np.cumprod(1.0 + r)])
    return float(np.max(1.0 - path / np.maximum.accumulate(path)))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return math.nan
    return float(spearmanr(a[ok], b[ok]).statistic)


def _decile_spread(score: np.ndarray, forward: np.ndarray) -> float:
    """Mean forward return of the top tenth of scores minus that of the bottom tenth (at least one name each)."""
    ok = np.isfinite(score) & np.isfinite(forward)
    if ok.sum() < 2:
        return math.nan
    order = np.argsort(score[ok], kind="stable")
    k = max(int(ok.sum()) // 10, 1)
    f = forward[ok][order]
    return float(f[-k:].mean() - f[:k].mean())


def _mean(x: np.ndarray) -> float | None:
    return float(x.mean()) if x.size else None


def write_outcomes(store: RuntimeStore, frame: pl.DataFrame) -> int:
    """Upsert outcome rows (by engine, market, session, experiment, config version, decision key, horizon)."""
    if frame.is_empty():
        return 0
    now = utc_now()
    rows = [r | {"metrics": _clean(json.loads(r["metrics"])), "created_at": now} for r in frame.iter_rows(named=True)]
    return store.upsert(outcomes_table, rows)


def _clean(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """NaN is not JSON: store it as null."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}


def read_outcomes(
    store: RuntimeStore, market: Market | str, experiment: str, *, engine: str | None = None
) -> pl.DataFrame:
    """Stored outcomes of one experiment on ``market`` (:data:`OUTCOME_SCHEMA`), sorted by engine, session and
    horizon."""
    t = outcomes_table
    q = sa.select(*(t.c[c] for c in OUTCOME_SCHEMA if c != "metrics"), t.c.metrics).where(
        t.c.market == Market(str(market)).value, t.c.experiment == experiment
    )
    if engine is not None:
        q = q.where(t.c.engine == engine)
    with store.read() as conn:
        rows = [dict(r._mapping) | {"metrics": json.dumps(r.metrics, sort_keys=True)} for r in conn.execute(q)]
    return frame_of(rows, dict(OUTCOME_SCHEMA), source="decision_outcomes").sort(
        "engine", "session", "horizon_sessions"
    )


#: Per-name output rows each engine's outcome reads: (table, value column); portfolio also reads its risk reports.
_OUTPUTS: dict[str, tuple[str, str]] = {
    "fragility": ("fragility_scores", "score"),
    "assessment": ("assessments", "score"),
    "portfolio": ("target_portfolios", "weight"),
}


def outcomes_for_sessions(
    log: DecisionLog,
    view: TimeMachine,
    calendar: TradingCalendar,
    market: Market,
    experiment: str,
    sessions: Sequence[date],
    *,
    bar_delay: timedelta,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    engines: Sequence[str] = OUTCOME_ENGINES,
) -> pl.DataFrame:
    """Outcomes of every decision of ``engines`` in ``sessions`` (one experiment) whose horizon has passed by the
    view's time: the realised data is read once, from the first session to ``max(horizons)`` sessions after the
    last (as far as the view knows them)."""
    if not sessions:
        return pl.DataFrame(schema=OUTCOME_SCHEMA)
    # Calendar days enough for max(horizons) sessions after the last (two days per session covers any holidays).
    ahead = calendar.sessions(market, sessions[-1], sessions[-1] + timedelta(days=2 * max(horizons) + 10))
    after = [d for d in ahead if d > sessions[-1]][: max(horizons)]
    span = [*calendar.sessions(market, sessions[0], sessions[-1]), *after]
    times = decision_times(calendar, market, span, bar_delay)
    known = [d for d, t in zip(span, times, strict=True) if t <= view.as_of]
    if not known:
        return pl.DataFrame(schema=OUTCOME_SCHEMA)
    realised = realised_market(view, market, known, times[: len(known)])
    frames = []
    for engine in engines:
        decisions = log.read_decisions(engine, market=market.value, experiment=experiment, sessions=sessions)
        if decisions.is_empty():
            continue
        outputs = risk = None
        if engine in _OUTPUTS:
            table, value = _OUTPUTS[engine]
            schema = {"session": pl.Date(), "instrument": pl.String(), value: pl.Float64()}
            outputs = log.read_output(table, schema, market=market.value, experiment=experiment, sessions=sessions)
        if engine == "portfolio":
            schema = {"session": pl.Date(), "ex_ante_vol": pl.Float64()}
            risk = log.read_output("risk_reports", schema, market=market.value, experiment=experiment,
                                   sessions=sessions)  # fmt: skip
        frames.append(decision_outcomes(engine, decisions, realised, outputs=outputs, risk=risk, horizons=horizons))
    return pl.concat(frames) if frames else pl.DataFrame(schema=OUTCOME_SCHEMA)
