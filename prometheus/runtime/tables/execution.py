"""Execution tables: ``risk_state`` (the kill switch, every change kept as a row), then orders, order events,
fills, positions, cash and RiskGate rejections."""

from __future__ import annotations

import sqlalchemy as sa

from prometheus.runtime.enums import TradingState
from prometheus.runtime.tables.base import (
    EXPERIMENT_LEN,
    INSTRUMENT_LEN,
    KEY_LEN,
    UTCDateTime,
    decision_columns,
    enum_check,
    id_column,
    metadata,
)

risk_state = sa.Table(
    "risk_state",
    metadata,
    id_column(),
    sa.Column("scope", sa.String(KEY_LEN), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("set_by", sa.String(KEY_LEN), nullable=False),
    sa.Column("set_at", UTCDateTime(), nullable=False),
    enum_check("state", TradingState),
    sa.Index(None, "scope", "set_at"),
    comment="Kill switch history; the state in force for a scope is its latest row (set_at, then id).",
)

# ----------------------------------------------------------------------------------------------------------
# Orders, events, fills, positions, cash and RiskGate rejections (migration 0002).
# Statuses, sides and reasons are the StrEnums of prometheus.execution, stored as text; the execution layer
# (above this one) validates them on write, so no CHECK constraint ties this schema to that layer.

ORDER_REF_LEN = 64

orders = sa.Table(
    "orders",
    metadata,
    id_column(),
    *decision_columns(),
    sa.Column("order_ref", sa.String(ORDER_REF_LEN), nullable=False),
    sa.Column("instrument", sa.String(INSTRUMENT_LEN), nullable=False),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("quantity", sa.Float(), nullable=False),
    sa.Column("order_type", sa.String(16), nullable=False),
    sa.Column("limit_price", sa.Float(), nullable=True),
    sa.Column("intent", sa.String(16), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("filled_quantity", sa.Float(), nullable=False),
    sa.Column("average_fill_price", sa.Float(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("order_ref", name="key"),
    sa.Index(None, "experiment", "market", "session"),
    comment="One row per order (latest state); order_ref is deterministic, so a resend finds its row.",
)

order_events = sa.Table(
    "order_events",
    metadata,
    id_column(),
    sa.Column("order_ref", sa.String(ORDER_REF_LEN), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("ts", UTCDateTime(), nullable=False),
    sa.Column("quantity", sa.Float(), nullable=False),
    sa.Column("price", sa.Float(), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("experiment", sa.String(EXPERIMENT_LEN), nullable=False),
    sa.UniqueConstraint("order_ref", "seq", name="key"),
    comment="Immutable order events; replaying an order's events in seq order gives its status.",
)

fills = sa.Table(
    "fills",
    metadata,
    id_column(),
    *decision_columns(),
    sa.Column("order_ref", sa.String(ORDER_REF_LEN), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("instrument", sa.String(INSTRUMENT_LEN), nullable=False),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("quantity", sa.Float(), nullable=False),
    sa.Column("price", sa.Float(), nullable=False),
    sa.Column("ts", UTCDateTime(), nullable=False),
    sa.Column("commission", sa.Float(), nullable=False),
    sa.Column("fees", sa.Float(), nullable=False),
    sa.Column("spread_cost", sa.Float(), nullable=False),
    sa.Column("impact_cost", sa.Float(), nullable=False),
    sa.UniqueConstraint("order_ref", "seq", name="key"),
    sa.Index(None, "experiment", "market", "session"),
    comment="Executions; session is the fill's session, decision_time that of the order's decision.",
)

positions = sa.Table(
    "positions",
    metadata,
    id_column(),
    *decision_columns(with_decision_time=False),
    sa.Column("instrument", sa.String(INSTRUMENT_LEN), nullable=False),
    sa.Column("quantity", sa.Float(), nullable=False),
    sa.Column("cost_basis", sa.Float(), nullable=False),
    sa.Column("as_of", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("experiment", "market", "session", "instrument", name="key"),
    comment="Position snapshot per session (signed shares, cost basis in account currency).",
)

cash = sa.Table(
    "cash",
    metadata,
    id_column(),
    *decision_columns(with_decision_time=False),
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("balance", sa.Float(), nullable=False),
    sa.Column("equity", sa.Float(), nullable=True),
    sa.Column("as_of", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("experiment", "market", "session", "currency", name="key"),
    comment="Cash balance (and equity where known) per session.",
)

risk_rejections = sa.Table(
    "risk_rejections",
    metadata,
    id_column(),
    *decision_columns(),
    sa.Column("ts", UTCDateTime(), nullable=False),
    sa.Column("order_ref", sa.String(ORDER_REF_LEN), nullable=False),
    sa.Column("instrument", sa.String(INSTRUMENT_LEN), nullable=False),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("quantity", sa.Float(), nullable=False),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("details", sa.JSON(), nullable=False),
    sa.Index(None, "experiment", "market", "session"),
    comment="Every RiskGate rejection: rule, coded reason and the numbers behind it (append-only).",
)
