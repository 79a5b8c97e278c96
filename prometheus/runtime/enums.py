"""Closed sets stored in the runtime tables (kept as strings in the database, checked by constraints)."""

from __future__ import annotations

from enum import StrEnum


class TradingState(StrEnum):
    """State of the kill switch (``risk_state.state``)."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class RunStatus(StrEnum):
    """Status of an engine run or a backtest run."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class AlertSeverity(StrEnum):
    """How urgent an alert is."""

    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class ProposalStatus(StrEnum):
    """Life of a Kronos config proposal; a human moves it past PROPOSED."""

    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    PROMOTED = "PROMOTED"


class PromotionAction(StrEnum):
    """A row of ``config_promotions``: a config put into PAPER/LIVE, or a return to an earlier one."""

    PROMOTE = "PROMOTE"
    ROLLBACK = "ROLLBACK"
