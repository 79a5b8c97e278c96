"""Kronos proposals: config changes drawn from findings, judged on a hold-out, approved (or rejected) by a person,
then promoted for PAPER/LIVE from a session on; every step recorded.

Life of a proposal (``kronos_proposals.status``): PROPOSED (Kronos) -> APPROVED or REJECTED (a person, with the
hold-out evidence in front of them) -> PROMOTED (the config is in ``config_promotions`` for a mode and market from
a session on). Nothing reaches ``config_promotions`` without an approved proposal, except a rollback, which
returns to the config promoted before (or to the engine's default) and is recorded the same way.

The hold-out judge compares the proposal's backtest with the current config's over sessions Kronos did not look
at, with the deflated Sharpe ratio (Bailey & Lopez de Prado 2014) over the number of configurations tried.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import sqlalchemy as sa
from scipy.stats import kurtosis, norm, skew

from prometheus.core.errors import ConfigError
from prometheus.core.time import utc_now
from prometheus.core.types import Market, Mode
from prometheus.engines.pipeline import EngineChainConfig
from prometheus.meta.kronos.report import Finding
from prometheus.runtime.enums import PromotionAction, ProposalStatus
from prometheus.runtime.store import RuntimeStore
from prometheus.runtime.tables import config_promotions, kronos_proposals

#: Factor on the risk budget of the regimes where the signal does not work.
REGIME_CUT = 0.5
#: Smallest multiplier a proposal leaves a regime (the optimiser needs a budget above zero).
MIN_REGIME_SCALE = 0.05
#: Euler-Mascheroni constant, in the expected maximum of N standard normal Sharpe ratios.
_EULER = 0.5772156649015329


@dataclass(frozen=True)
class Proposal:
    """A config change for one engine: the full proposed config, why, and on what evidence."""

    engine: str
    current_config_version: str
    proposed_config: dict[str, Any]
    proposed_config_version: str
    rationale: str
    evidence: dict[str, Any]

    @property
    def proposal_key(self) -> str:
        """One proposal per engine, current and proposed version."""
        return f"{self.engine}:{self.current_config_version[:16]}->{self.proposed_config_version[:16]}"


def propose(findings: Sequence[Finding], chain: EngineChainConfig) -> list[Proposal]:
    """Config changes for the findings Kronos knows how to act on.

    * ``regime_slice`` of the assessment or the portfolio: the signal works in some regimes only, so the portfolio
      takes less risk where it does not (its ``optimiser.regime_scale`` x :data:`REGIME_CUT` there).
    * ``vol_drift`` of the portfolio: its risk model is off, so it adapts faster (the opt-in volatility regime
      adjustment ``risk.vra_half_life`` = 42 sessions) when it has none.
    Other findings are reported, not acted on.
    """
    out: list[Proposal] = []
    current = chain.portfolio
    for f in findings:
        base = current.model_dump(mode="json")
        if f.kind == "regime_slice" and f.engine in ("assessment", "portfolio"):
            scale = dict(current.optimiser.regime_scale)
            for regime in f.evidence.get("fails", []):
                if regime in scale:
                    scale[regime] = max(round(scale[regime] * REGIME_CUT, 4), MIN_REGIME_SCALE)
            if scale == dict(current.optimiser.regime_scale):
                continue
            changed = copy.deepcopy(base)
            changed["optimiser"]["regime_scale"] = scale
            rationale = (f"{f.engine} {f.message}: take {REGIME_CUT:g}x the risk budget in "
                         f"{', '.join(f.evidence.get('fails', []))}")  # fmt: skip
        elif f.kind == "vol_drift" and current.risk.vra_half_life is None:
            changed = copy.deepcopy(base)
            changed["risk"]["vra_half_life"] = 42
            rationale = f"portfolio {f.message}: adapt the risk model to volatility regimes (VRA half-life 42)"
        else:
            continue
        proposed = type(current).from_mapping(changed, source="kronos proposal")
        out.append(Proposal("portfolio", current.config_version, proposed.model_dump(mode="json"),
                            proposed.config_version, rationale, {"finding": _finding(f)}))  # fmt: skip
    return out


def _finding(f: Finding) -> dict[str, Any]:
    return {"kind": f.kind, "engine": f.engine, "config_version": f.config_version, "horizon": f.horizon,
            "message": f.message}  # fmt: skip


def sharpe(returns: np.ndarray) -> float:
    """Per-period Sharpe ratio (mean / sd, no annualisation; NaN with fewer than 3 returns or no dispersion)."""
    r = returns[np.isfinite(returns)]
    if r.size < 3 or not np.std(r, ddof=1) > 0:
        return math.nan
    return float(np.mean(r) / np.std(r, ddof=1))


def deflated_sharpe(returns: np.ndarray, n_trials: int, trial_sharpe_variance: float) -> float:
    """Probability that the true Sharpe ratio of ``returns`` exceeds the best of ``n_trials`` unskilled ones.

    Bailey & Lopez de Prado (2014): SR0 = sqrt(V) ((1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e))) with V the
    variance of the trials' Sharpe ratios, then the probabilistic Sharpe ratio of the observed one against SR0,
    corrected for skewness and kurtosis of the returns. Per-period ratios throughout.
    """
    r = returns[np.isfinite(returns)]
    sr = sharpe(r)
    if not math.isfinite(sr):
        return math.nan
    n = max(int(n_trials), 1)
    if n == 1:
        sr0 = 0.0
    else:
        sd = math.sqrt(max(trial_sharpe_variance, 0.0))
        sr0 = sd * ((1 - _EULER) * norm.ppf(1 - 1 / n) + _EULER * norm.ppf(1 - 1 / (n * math.e)))
    g3, g4 = float(skew(r)), float(kurtosis(r, fisher=False))
    denom = 1 - g3 * sr + (g4 - 1) / 4 * sr**2
    if not denom > 0:
        return math.nan
    return float(norm.cdf((sr - sr0) * math.sqrt(r.size - 1) / math.sqrt(denom)))


def judge(current: np.ndarray, proposed: np.ndarray, n_trials: int, trial_sharpes: Sequence[float],
          min_dsr: float = 0.95) -> dict[str, Any]:  # fmt: skip
    """The hold-out verdict: both Sharpe ratios (per period and annualised), the proposal's deflated Sharpe ratio
    over ``n_trials`` configurations and whether it beats the current config with DSR >= ``min_dsr``."""
    finite = [s for s in trial_sharpes if math.isfinite(s)]
    variance = float(np.var(finite, ddof=1)) if len(finite) > 1 else 0.0
    sr_now, sr_new = sharpe(current), sharpe(proposed)
    dsr = deflated_sharpe(proposed, n_trials, variance)
    better = math.isfinite(sr_new) and (not math.isfinite(sr_now) or sr_new > sr_now)
    return {
        "sharpe_current": sr_now, "sharpe_proposed": sr_new,
        "sharpe_current_annual": sr_now * math.sqrt(252), "sharpe_proposed_annual": sr_new * math.sqrt(252),
        "deflated_sharpe": dsr, "n_trials": int(n_trials), "trial_sharpe_variance": variance,
        "sessions": int(np.isfinite(proposed).sum()), "min_dsr": min_dsr,
        "accepted": bool(better and math.isfinite(dsr) and dsr >= min_dsr),
    }  # fmt: skip


def save_proposal(store: RuntimeStore, proposal: Proposal, report_id: int | None = None) -> int:
    """Record ``proposal`` as PROPOSED (an existing one with the same key keeps its status and gains the new
    evidence); returns its id."""
    t = kronos_proposals
    with store.read() as conn:
        found = conn.execute(sa.select(t.c.id, t.c.status, t.c.evidence).where(
            t.c.proposal_key == proposal.proposal_key)).first()  # fmt: skip
    evidence = {**(found.evidence if found else {}), **proposal.evidence, "proposed_config": proposal.proposed_config}
    row = {"proposal_key": proposal.proposal_key, "report_id": report_id, "engine": proposal.engine,
           "current_config_version": proposal.current_config_version,
           "proposed_config_version": proposal.proposed_config_version, "rationale": proposal.rationale,
           "evidence": _clean(evidence), "status": found.status if found else ProposalStatus.PROPOSED.value,
           "decided_by": None, "decided_at": None, "created_at": utc_now()}  # fmt: skip
    store.upsert(t, [row], key=["proposal_key"])
    return _proposal_id(store, proposal.proposal_key)


def add_evidence(store: RuntimeStore, proposal_id: int, key: str, value: Mapping[str, Any]) -> None:
    """Attach ``value`` under ``key`` to a proposal's evidence (the hold-out verdict, the experiments run)."""
    t = kronos_proposals
    current = get_proposal(store, proposal_id)
    with store.begin() as conn:
        conn.execute(sa.update(t).where(t.c.id == proposal_id).values(
            evidence=_clean({**current["evidence"], key: dict(value)})))  # fmt: skip


def get_proposal(store: RuntimeStore, proposal_id: int) -> dict[str, Any]:
    """One proposal as a mapping; a missing id is a ConfigError naming it."""
    t = kronos_proposals
    with store.read() as conn:
        found = conn.execute(sa.select(t).where(t.c.id == proposal_id)).first()
    if found is None:
        raise ConfigError(f"no Kronos proposal {proposal_id}", setting="ID")
    return dict(found._mapping)


def list_proposals(store: RuntimeStore, status: ProposalStatus | None = None) -> list[dict[str, Any]]:
    """Proposals, newest first (optionally of one status)."""
    t = kronos_proposals
    q = sa.select(
        t.c.id,
        t.c.engine,
        t.c.status,
        t.c.rationale,
        t.c.current_config_version,
        t.c.proposed_config_version,
        t.c.decided_by,
        t.c.decided_at,
        t.c.created_at,
    ).order_by(t.c.id.desc())
    if status is not None:
        q = q.where(t.c.status == status.value)
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def reject(store: RuntimeStore, proposal_id: int, by: str, reason: str) -> None:
    """A person turns a proposal down (with the reason, recorded in its evidence)."""
    proposal = get_proposal(store, proposal_id)
    _must_be(proposal, ProposalStatus.PROPOSED)
    _decide(store, proposal_id, ProposalStatus.REJECTED, by, {"decision": {"by": by, "reason": reason,
                                                                           "at": utc_now().isoformat()}})  # fmt: skip


def approve(
    store: RuntimeStore, proposal_id: int, by: str, *, market: Market, mode: Mode, effective_from: date,
    reason: str = "",
) -> int:  # fmt: skip
    """A person approves a proposal that passed its hold-out; its config is promoted for ``mode`` on ``market``
    from ``effective_from`` (the next session). Returns the promotion's id.

    Raises
    ------
    ConfigError
        The proposal is not PROPOSED, has no hold-out verdict or failed it, or ``mode`` is BACKTEST.
    """
    _check_decision(mode, by)
    proposal = get_proposal(store, proposal_id)
    _must_be(proposal, ProposalStatus.PROPOSED)
    verdict = proposal["evidence"].get("holdout")
    if not verdict:
        raise ConfigError(f"proposal {proposal_id} has no hold-out verdict: run `prometheus kronos evaluate "
                          f"{proposal_id}` first", setting="ID")  # fmt: skip
    if not verdict.get("accepted"):
        raise ConfigError(f"proposal {proposal_id} failed its hold-out (deflated Sharpe "
                          f"{verdict.get('deflated_sharpe')}): it cannot be approved", setting="ID")  # fmt: skip
    decision = {"by": by, "reason": reason, "at": utc_now().isoformat(), "mode": mode.value, "market": market.value,
                "effective_from": effective_from.isoformat()}  # fmt: skip
    _decide(store, proposal_id, ProposalStatus.APPROVED, by, {"decision": decision})
    promotion = _promote(store, proposal["engine"], market, mode, PromotionAction.PROMOTE,
                         proposal["proposed_config_version"], proposal["evidence"]["proposed_config"], effective_from,
                         proposal_id, by, reason or proposal["rationale"])  # fmt: skip
    _decide(store, proposal_id, ProposalStatus.PROMOTED, by, {})
    return promotion


def rollback(store: RuntimeStore, engine: str, *, market: Market, mode: Mode, effective_from: date, by: str,
             reason: str, default: Mapping[str, Any], default_version: str) -> int:  # fmt: skip
    """Return ``engine`` on ``market`` in ``mode`` to the config before the active one (the engine's default when
    only one was ever promoted), from ``effective_from``; recorded as a ROLLBACK row. Returns its id.

    Raises
    ------
    ConfigError
        Nothing was promoted for that engine, market and mode.
    """
    history = promotions(store, engine=engine, market=market, mode=mode)
    if not history:
        raise ConfigError(f"nothing promoted for {engine} on {market.value} in {mode.value}", setting="ENGINE")
    versions = _active_chain(history)
    if len(versions) >= 2:
        previous = versions[-2]
        target_version, target_config = previous["config_version"], previous["config"]
    else:
        target_version, target_config = default_version, dict(default)
    return _promote(store, engine, market, mode, PromotionAction.ROLLBACK, target_version, target_config,
                    effective_from, None, by, reason)  # fmt: skip


def promotions(store: RuntimeStore, *, engine: str | None = None, market: Market | None = None,
               mode: Mode | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The audit trail: every promotion and rollback, oldest first."""
    t = config_promotions
    q = sa.select(t).order_by(t.c.id)
    if engine is not None:
        q = q.where(t.c.engine == engine)
    if market is not None:
        q = q.where(t.c.market == market.value)
    if mode is not None:
        q = q.where(t.c.mode == mode.value)
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def active_config(store: RuntimeStore, engine: str, market: Market, mode: Mode, session: date) -> dict[str, Any] | None:
    """The config ``engine`` runs with on ``market`` in ``mode`` for ``session``: the latest promotion or rollback
    effective by then (None: the configured default)."""
    rows = [r for r in promotions(store, engine=engine, market=market, mode=mode) if r["effective_from"] <= session]
    return dict(rows[-1]["config"]) if rows else None


def _active_chain(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stack of configs in force: a promotion pushes, a rollback pops back to the one before."""
    stack: list[dict[str, Any]] = []
    for row in history:
        if row["action"] == PromotionAction.PROMOTE.value:
            stack.append(row)
        elif stack:
            stack.pop()
    return stack


def _promote(
    store: RuntimeStore, engine: str, market: Market, mode: Mode, action: PromotionAction, version: str,
    config: Mapping[str, Any], effective_from: date, proposal_id: int | None, by: str, reason: str,
) -> int:  # fmt: skip
    _check_decision(mode, by)
    row = {"engine": engine, "market": market.value, "mode": mode.value, "action": action.value,
           "config_version": version, "config": _clean(dict(config)), "effective_from": effective_from,
           "proposal_id": proposal_id, "decided_by": by, "reason": reason, "created_at": utc_now()}  # fmt: skip
    with store.begin() as conn:
        return int(conn.execute(sa.insert(config_promotions).values(**row)).inserted_primary_key[0])


def _check_decision(mode: Mode, by: str) -> None:
    if mode is Mode.BACKTEST:
        raise ConfigError("configs are promoted for PAPER or LIVE; a backtest takes its configs from --config",
                          setting="--mode")  # fmt: skip
    if not by.strip():
        raise ConfigError("a promotion needs the name of the person deciding", setting="--by")


def _decide(store: RuntimeStore, proposal_id: int, status: ProposalStatus, by: str, extra: Mapping[str, Any]) -> None:
    t = kronos_proposals
    current = get_proposal(store, proposal_id)
    with store.begin() as conn:
        conn.execute(sa.update(t).where(t.c.id == proposal_id).values(
            status=status.value, decided_by=by, decided_at=utc_now(),
            evidence=_clean({**current["evidence"], **extra})))  # fmt: skip


def _must_be(proposal: Mapping[str, Any], status: ProposalStatus) -> None:
    if proposal["status"] != status.value:
        raise ConfigError(f"proposal {proposal['id']} is {proposal['status']}, not {status.value}", setting="ID")


def _proposal_id(store: RuntimeStore, key: str) -> int:
    t = kronos_proposals
    with store.read() as conn:
        return int(conn.execute(sa.select(t.c.id).where(t.c.proposal_key == key)).scalar_one())


def _clean(value: Any) -> Any:
    """JSON both backends store: PostgreSQL's JSON has no Infinity or NaN, so infinities become the text "inf" /
    "-inf" (which a config's float field reads back as the number: the cost tiers end at inf) and NaN null."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, date):
        return value.isoformat()
    return value
