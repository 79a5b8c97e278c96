"""Meta tables: Kronos reports and proposals, alerts and the observed market states."""

from __future__ import annotations

import sqlalchemy as sa

from prometheus.core.types import MarketState, Mode
from prometheus.runtime.enums import AlertSeverity, PromotionAction, ProposalStatus
from prometheus.runtime.tables.base import (
    CONFIG_VERSION_LEN,
    ENGINE_LEN,
    EXPERIMENT_LEN,
    KEY_LEN,
    MARKET_LEN,
    UTCDateTime,
    created_at_column,
    enum_check,
    id_column,
    metadata,
)

kronos_reports = sa.Table(
    "kronos_reports",
    metadata,
    id_column(),
    sa.Column("report_key", sa.String(KEY_LEN), nullable=False),
    sa.Column("experiment", sa.String(EXPERIMENT_LEN), nullable=False),
    sa.Column("as_of", UTCDateTime(), nullable=False),
    sa.Column("first_session", sa.Date(), nullable=False),
    sa.Column("last_session", sa.Date(), nullable=False),
    sa.Column("summary", sa.Text(), nullable=False),
    sa.Column("slices", sa.JSON(), nullable=False),
    created_at_column(),
    sa.UniqueConstraint("report_key", "experiment", name="key"),
    comment="Kronos reports: decisions joined with outcomes, sliced by regime, config and market.",
)

kronos_proposals = sa.Table(
    "kronos_proposals",
    metadata,
    id_column(),
    sa.Column("proposal_key", sa.String(KEY_LEN), nullable=False),
    sa.Column("report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
    sa.Column("engine", sa.String(ENGINE_LEN), nullable=False),
    sa.Column("current_config_version", sa.String(CONFIG_VERSION_LEN), nullable=False),
    sa.Column("proposed_config_version", sa.String(CONFIG_VERSION_LEN), nullable=False),
    sa.Column("rationale", sa.Text(), nullable=False),
    sa.Column("evidence", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("decided_by", sa.String(KEY_LEN), nullable=True),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    created_at_column(),
    sa.UniqueConstraint("proposal_key", name="key"),
    sa.ForeignKeyConstraint(["report_id"], ["kronos_reports.id"], ondelete="SET NULL"),
    enum_check("status", ProposalStatus),
    comment="Config changes proposed by Kronos; a human approves them before promotion.",
)

alerts = sa.Table(
    "alerts",
    metadata,
    id_column(),
    sa.Column("ts", UTCDateTime(), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("source", sa.String(KEY_LEN), nullable=False),
    sa.Column("market", sa.String(MARKET_LEN), nullable=True),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("details", sa.JSON(), nullable=True),
    sa.Column("acknowledged_by", sa.String(KEY_LEN), nullable=True),
    sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
    enum_check("severity", AlertSeverity),
    sa.Index(None, "ts"),
    comment="Operational alerts (failed runs, QC, risk events); append-only except acknowledgement.",
)

market_states = sa.Table(
    "market_states",
    metadata,
    id_column(),
    sa.Column("market", sa.String(MARKET_LEN), nullable=False),
    sa.Column("ts", UTCDateTime(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("session", sa.Date(), nullable=True),
    created_at_column("recorded_at"),
    sa.UniqueConstraint("market", "ts", name="key"),
    enum_check("state", MarketState),
    comment="Market state transitions as observed by the sensors (from the TradingCalendar).",
)

config_promotions = sa.Table(
    "config_promotions",
    metadata,
    id_column(),
    sa.Column("engine", sa.String(ENGINE_LEN), nullable=False),
    sa.Column("market", sa.String(MARKET_LEN), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("config_version", sa.String(CONFIG_VERSION_LEN), nullable=False),
    sa.Column("config", sa.JSON(), nullable=False),
    sa.Column("effective_from", sa.Date(), nullable=False),
    sa.Column("proposal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
    sa.Column("decided_by", sa.String(KEY_LEN), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    created_at_column(),
    sa.ForeignKeyConstraint(["proposal_id"], ["kronos_proposals.id"], ondelete="SET NULL"),
    enum_check("action", PromotionAction),
    enum_check("mode", (Mode.PAPER, Mode.LIVE)),
    sa.Index(None, "engine", "market", "mode"),
    comment="Engine configs promoted for PAPER/LIVE (or rolled back), append-only: the audit trail.",
)
