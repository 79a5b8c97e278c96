"""Kronos proposals: what a finding turns into, the hold-out judge (deflated Sharpe), and that nothing is promoted
without a person approving a proposal that passed its hold-out; promotions and rollbacks leave an audit trail."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

import numpy as np
import pytest

from prometheus.core.errors import ConfigError
from prometheus.core.types import Market, Mode
from prometheus.engines.pipeline import EngineChainConfig
from prometheus.meta.kronos import (
    Finding,
    active_config,
    add_evidence,
    approve,
    deflated_sharpe,
    get_proposal,
    judge,
    list_proposals,
    promotions,
    propose,
    reject,
    rollback,
    save_proposal,
)
from prometheus.runtime import RuntimeStore
from prometheus.runtime.enums import ProposalStatus

SLICE = Finding("regime_slice", "assessment", "a1", 5, "works in calm, not in crisis",
                {"works": ["calm"], "fails": ["crisis"]})  # fmt: skip


@pytest.fixture
def store(runtime_db_url: str) -> Iterator[RuntimeStore]:
    """A migrated runtime store, once on SQLite and once on PostgreSQL (its JSON has no Infinity)."""
    with RuntimeStore(runtime_db_url) as found:
        found.upgrade()
        yield found


def test_propose_when_signal_fails_in_crisis_halves_the_crisis_risk_budget_only() -> None:
    chain = EngineChainConfig()
    [proposal] = propose([SLICE], chain)
    before = chain.portfolio.optimiser.regime_scale
    after = proposal.proposed_config["optimiser"]["regime_scale"]
    assert after["crisis"] == pytest.approx(before["crisis"] * 0.5)
    assert {k: v for k, v in after.items() if k != "crisis"} == {k: v for k, v in before.items() if k != "crisis"}
    assert proposal.current_config_version == chain.portfolio.config_version
    assert proposal.proposed_config_version != proposal.current_config_version
    assert propose([Finding("degraded", "assessment", "a1", 5, "fell")], chain) == []  # reported, not acted on


def test_deflated_sharpe_when_more_trials_were_tried_is_lower() -> None:
    r = np.random.default_rng(0).normal(0.001, 0.01, 750)
    one, many = deflated_sharpe(r, 1, 0.0), deflated_sharpe(r, 50, 0.002)
    assert 0.5 < one <= 1.0
    assert many < one
    assert math.isnan(deflated_sharpe(np.array([0.01, 0.02]), 5, 0.001))


def test_judge_when_proposal_beats_current_with_a_clear_edge_accepts_it() -> None:
    rng = np.random.default_rng(1)
    current, better = rng.normal(0.0, 0.01, 500), rng.normal(0.003, 0.01, 500)
    verdict = judge(current, better, n_trials=2, trial_sharpes=[0.0, 0.15])
    assert verdict["accepted"]
    assert verdict["sharpe_proposed"] > verdict["sharpe_current"]
    assert not judge(better, current, n_trials=2, trial_sharpes=[0.0, 0.15])["accepted"]


def test_approve_when_no_holdout_or_failed_holdout_refuses_and_promotes_nothing(store: RuntimeStore) -> None:
    [proposal] = propose([SLICE], EngineChainConfig())
    pid = save_proposal(store, proposal)
    with pytest.raises(ConfigError, match="no hold-out verdict"):
        approve(store, pid, "ana", market=Market.US_EQ, mode=Mode.PAPER, effective_from=date(2025, 1, 2))
    add_evidence(store, pid, "holdout", {"accepted": False, "deflated_sharpe": 0.4})
    with pytest.raises(ConfigError, match="failed its hold-out"):
        approve(store, pid, "ana", market=Market.US_EQ, mode=Mode.PAPER, effective_from=date(2025, 1, 2))
    assert promotions(store) == []
    assert get_proposal(store, pid)["status"] == ProposalStatus.PROPOSED.value


def test_approve_when_holdout_passed_promotes_from_the_session_and_rollback_returns_to_default(
    store: RuntimeStore,
) -> None:
    chain = EngineChainConfig()
    [proposal] = propose([SLICE], chain)
    pid = save_proposal(store, proposal)
    add_evidence(store, pid, "holdout", {"accepted": True, "deflated_sharpe": 0.97})
    with pytest.raises(ConfigError, match="PAPER or LIVE"):
        approve(store, pid, "ana", market=Market.US_EQ, mode=Mode.BACKTEST, effective_from=date(2025, 1, 2))
    approve(store, pid, "ana", market=Market.US_EQ, mode=Mode.PAPER, effective_from=date(2025, 1, 2),
            reason="hold-out 2024")  # fmt: skip
    assert get_proposal(store, pid)["status"] == ProposalStatus.PROMOTED.value
    assert get_proposal(store, pid)["evidence"]["decision"]["by"] == "ana"
    assert active_config(store, "portfolio", Market.US_EQ, Mode.PAPER, date(2025, 1, 1)) is None  # not yet
    live = active_config(store, "portfolio", Market.US_EQ, Mode.PAPER, date(2025, 1, 2))
    assert live is not None
    # Stored as JSON (the cost tiers' inf as text), read back as the same config.
    assert type(chain.portfolio).from_mapping(live).config_version == proposal.proposed_config_version
    assert active_config(store, "portfolio", Market.US_EQ, Mode.LIVE, date(2025, 1, 2)) is None  # per mode
    with pytest.raises(ConfigError, match="PROMOTED, not PROPOSED"):
        approve(store, pid, "ana", market=Market.US_EQ, mode=Mode.PAPER, effective_from=date(2025, 1, 3))

    rollback(store, "portfolio", market=Market.US_EQ, mode=Mode.PAPER, effective_from=date(2025, 2, 3), by="bo",
             reason="drawdown", default=chain.portfolio.model_dump(mode="json"),
             default_version=chain.portfolio.config_version)  # fmt: skip
    back = active_config(store, "portfolio", Market.US_EQ, Mode.PAPER, date(2025, 2, 3))
    assert back is not None
    assert type(chain.portfolio).from_mapping(back).config_version == chain.portfolio.config_version
    trail = promotions(store, engine="portfolio", market=Market.US_EQ, mode=Mode.PAPER)
    assert [(r["action"], r["decided_by"]) for r in trail] == [("PROMOTE", "ana"), ("ROLLBACK", "bo")]
    with pytest.raises(ConfigError, match="nothing promoted"):
        rollback(store, "portfolio", market=Market.US_EQ, mode=Mode.LIVE, effective_from=date(2025, 2, 3), by="bo",
                 reason="x", default={}, default_version="v")  # fmt: skip


def test_reject_when_decided_records_who_and_why_and_cannot_be_approved_after(store: RuntimeStore) -> None:
    [proposal] = propose([SLICE], EngineChainConfig())
    pid = save_proposal(store, proposal)
    reject(store, pid, "cy", "too few crisis sessions in the hold-out")
    found = get_proposal(store, pid)
    assert found["status"] == ProposalStatus.REJECTED.value
    assert found["evidence"]["decision"]["reason"] == "too few crisis sessions in the hold-out"
    assert [p["status"] for p in list_proposals(store)] == ["REJECTED"]
    assert save_proposal(store, proposal) == pid  # the same proposal again keeps its decision
    assert get_proposal(store, pid)["status"] == ProposalStatus.REJECTED.value
