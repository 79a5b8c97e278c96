"""PAPER/LIVE portfolio runs take the config a person promoted (config_promotions) from its session on; a
backtest never does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prometheus.core.types import Market, Mode
from prometheus.engines.pipeline import EngineChainConfig
from prometheus.meta.kronos import Finding, add_evidence, approve, propose, rollback, save_proposal
from prometheus.runtime import RuntimeStore
from prometheus.runtime.decision_log import DecisionLog
from prometheus_assets.engines.portfolio import portfolio_config_for


def test_portfolio_config_for_when_promoted_for_paper_applies_from_its_session_in_paper_only(tmp_path: Path) -> None:
    chain = EngineChainConfig()
    default = chain.portfolio
    finding = Finding("regime_slice", "assessment", "a", 5, "works in calm", {"works": ["calm"], "fails": ["crisis"]})
    [proposal] = propose([finding], chain)
    with RuntimeStore(f"sqlite:///{tmp_path / 'runtime.sqlite'}") as store:
        store.upgrade()
        log = DecisionLog(store)
        pid = save_proposal(store, proposal)
        add_evidence(store, pid, "holdout", {"accepted": True, "deflated_sharpe": 0.99})
        approve(store, pid, "ana", market=Market.US_EQ, mode=Mode.PAPER, effective_from=date(2025, 3, 3))

        assert portfolio_config_for(log, Mode.PAPER, Market.US_EQ, date(2025, 2, 28), default) is default
        promoted = portfolio_config_for(log, Mode.PAPER, Market.US_EQ, date(2025, 3, 3), default)
        assert promoted.config_version == proposal.proposed_config_version
        assert promoted.optimiser.regime_scale["crisis"] == default.optimiser.regime_scale["crisis"] / 2
        assert portfolio_config_for(log, Mode.LIVE, Market.US_EQ, date(2025, 3, 3), default) is default
        assert portfolio_config_for(log, Mode.BACKTEST, Market.US_EQ, date(2025, 3, 3), default) is default

        rollback(store, "portfolio", market=Market.US_EQ, mode=Mode.PAPER, effective_from=date(2025, 4, 1),
                 by="bo", reason="drawdown", default=default.model_dump(mode="json"),
                 default_version=default.config_version)  # fmt: skip
        back = portfolio_config_for(log, Mode.PAPER, Market.US_EQ, date(2025, 4, 1), default)
        assert back.config_version == default.config_version
