"""The runtime store: engine outputs, decisions, experiments, alerts and the kill switch (SQLAlchemy Core).

Public surface: :class:`RuntimeStore`, the tables (``prometheus.runtime.tables``), the stored enums and the
migration helpers.
"""

from __future__ import annotations

from prometheus.runtime import tables
from prometheus.runtime.enums import AlertSeverity, ProposalStatus, RunStatus, TradingState
from prometheus.runtime.migrate import Revision, alembic_config, head_revision, history
from prometheus.runtime.store import (
    READ_ONLY_KEYWORDS,
    RuntimeStore,
    check_read_only_sql,
    unique_key,
    upsert_statement,
)
from prometheus.runtime.tables import metadata

__all__ = [
    "READ_ONLY_KEYWORDS",
    "AlertSeverity",
    "ProposalStatus",
    "Revision",
    "RunStatus",
    "RuntimeStore",
    "TradingState",
    "alembic_config",
    "check_read_only_sql",
    "head_revision",
    "history",
    "metadata",
    "tables",
    "unique_key",
    "upsert_statement",
]
