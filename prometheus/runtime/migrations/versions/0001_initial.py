"""Initial runtime schema: engine outputs, experiments, Kronos, alerts, market states and risk_state.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 21:35:02.096853
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("market", sa.String(length=16), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=128), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("severity IN ('INFO', 'WARNING', 'CRITICAL')", name=op.f("ck_alerts_severity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        comment="Operational alerts (failed runs, QC, risk events); append-only except acknowledgement.",
    )
    op.create_index(op.f("ix_alerts_ts"), "alerts", ["ts"], unique=False)
    op.create_table(
        "assessments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("expected_return", sa.Float(), nullable=True),
        sa.Column("horizon_sessions", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint(
            "market", "session", "experiment", "config_version", "instrument", name=op.f("uq_assessments_key")
        ),
        comment="Per-instrument forecast score of the Assessment engine.",
    )
    op.create_table(
        "backtest_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("markets", sa.JSON(), nullable=False),
        sa.Column("config_versions", sa.JSON(), nullable=False),
        sa.Column("universe", sa.JSON(), nullable=True),
        sa.Column("first_session", sa.Date(), nullable=False),
        sa.Column("last_session", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.CheckConstraint("status IN ('RUNNING', 'SUCCEEDED', 'FAILED')", name=op.f("ck_backtest_runs_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_runs")),
        sa.UniqueConstraint("experiment", name=op.f("uq_backtest_runs_key")),
        comment="Experiments: config versions + universe + date range, with summary metrics once finished.",
    )
    op.create_table(
        "decision_outcomes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("decision_key", sa.String(length=128), nullable=False),
        sa.Column("horizon_sessions", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Float(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("known_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_outcomes")),
        sa.UniqueConstraint(
            "engine",
            "market",
            "session",
            "experiment",
            "config_version",
            "decision_key",
            "horizon_sessions",
            name=op.f("uq_decision_outcomes_key"),
        ),
        comment="Realised outcome of a decision after a horizon; known_at is when the outcome became known.",
    )
    op.create_table(
        "engine_configs",
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("config_version", name=op.f("pk_engine_configs")),
        comment="Every engine config ever used, keyed by the SHA-256 of its canonical JSON.",
    )
    op.create_index(
        op.f("ix_engine_configs_engine_created_at"), "engine_configs", ["engine", "created_at"], unique=False
    )
    op.create_table(
        "engine_decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("decision_key", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_decisions")),
        sa.UniqueConstraint(
            "engine",
            "market",
            "session",
            "experiment",
            "config_version",
            "decision_key",
            name=op.f("uq_engine_decisions_key"),
        ),
        comment="Each engine's decision as JSON; decision_key separates several decisions of one session.",
    )
    op.create_index(op.f("ix_engine_decisions_market_session"), "engine_decisions", ["market", "session"], unique=False)
    op.create_table(
        "engine_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("run_key", sa.String(length=128), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("first_session", sa.Date(), nullable=False),
        sa.Column("last_session", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows_written", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('RUNNING', 'SUCCEEDED', 'FAILED')", name=op.f("ck_engine_runs_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_runs")),
        sa.UniqueConstraint("run_key", name=op.f("uq_engine_runs_key")),
        comment="One row per engine invocation over a session range; run_key e.g. the orchestrator run id.",
    )
    op.create_index(
        op.f("ix_engine_runs_engine_market_experiment"),
        "engine_runs",
        ["engine", "market", "experiment"],
        unique=False,
    )
    op.create_table(
        "fragility_scores",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fragility_scores")),
        sa.UniqueConstraint(
            "market",
            "session",
            "experiment",
            "config_version",
            "instrument",
            name=op.f("uq_fragility_scores_key"),
        ),
        comment="Fragility (crowding, illiquidity) per instrument or cluster; a risk penalty input.",
    )
    op.create_table(
        "kronos_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("report_key", sa.String(length=128), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_session", sa.Date(), nullable=False),
        sa.Column("last_session", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("slices", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kronos_reports")),
        sa.UniqueConstraint("report_key", "experiment", name=op.f("uq_kronos_reports_key")),
        comment="Kronos reports: decisions joined with outcomes, sliced by regime, config and market.",
    )
    op.create_table(
        "market_states",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('PRE_OPEN', 'OPEN', 'BREAK', 'POST_CLOSE', 'CLOSED')",
            name=op.f("ck_market_states_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_states")),
        sa.UniqueConstraint("market", "ts", name=op.f("uq_market_states_key")),
        comment="Market state transitions as observed by the sensors (from the TradingCalendar).",
    )
    op.create_table(
        "regime_states",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("regime", sa.String(length=32), nullable=False),
        sa.Column("probabilities", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regime_states")),
        sa.UniqueConstraint("market", "session", "experiment", "config_version", name=op.f("uq_regime_states_key")),
        comment="Filtered regime label and probabilities per market and session.",
    )
    op.create_table(
        "risk_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("ex_ante_vol", sa.Float(), nullable=True),
        sa.Column("var_95", sa.Float(), nullable=True),
        sa.Column("es_95", sa.Float(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_reports")),
        sa.UniqueConstraint("market", "session", "experiment", "config_version", name=op.f("uq_risk_reports_key")),
        comment="Ex-ante risk of the target portfolio: vol, VaR/ES, exposures, contributions, stress losses.",
    )
    op.create_table(
        "risk_state",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=128), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('ACTIVE', 'REDUCING', 'HALTED')", name=op.f("ck_risk_state_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_state")),
        comment="Kill switch history; the state in force for a scope is its latest row (set_at, then id).",
    )
    op.create_index(op.f("ix_risk_state_scope_set_at"), "risk_state", ["scope", "set_at"], unique=False)
    op.create_table(
        "scenario_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("scenario_set", sa.String(length=128), nullable=False),
        sa.Column("scenario", sa.String(length=128), nullable=False),
        sa.Column("pnl", sa.Float(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_results")),
        sa.UniqueConstraint(
            "market",
            "session",
            "experiment",
            "config_version",
            "scenario_set",
            "scenario",
            name=op.f("uq_scenario_results_key"),
        ),
        comment="Stress P&L of the target portfolio per scenario (or summary row) of a scenario set.",
    )
    op.create_table(
        "scenario_sets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("scenario_set", sa.String(length=128), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("n_scenarios", sa.Integer(), nullable=False),
        sa.Column("horizon_sessions", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("lake_path", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_sets")),
        sa.UniqueConstraint(
            "market",
            "session",
            "experiment",
            "config_version",
            "scenario_set",
            name=op.f("uq_scenario_sets_key"),
        ),
        comment="Generated scenario sets (method, size, parameters); the paths themselves live in the lake.",
    )
    op.create_table(
        "stability_scores",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stability_scores")),
        sa.UniqueConstraint(
            "market",
            "session",
            "experiment",
            "config_version",
            "instrument",
            name=op.f("uq_stability_scores_key"),
        ),
        comment="Market stability measures (absorption ratio, turbulence); instrument '' = the market.",
    )
    op.create_table(
        "target_portfolios",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("expected_return", sa.Float(), nullable=True),
        sa.Column("risk_contribution", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_portfolios")),
        sa.UniqueConstraint(
            "market",
            "session",
            "experiment",
            "config_version",
            "instrument",
            name=op.f("uq_target_portfolios_key"),
        ),
        comment="Target weights of the Portfolio & Risk engine per instrument and session.",
    )
    op.create_table(
        "universe_members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("experiment", sa.String(length=64), nullable=False),
        sa.Column("config_version", sa.String(length=64), nullable=False),
        sa.Column("instrument", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_universe_members")),
        sa.UniqueConstraint(
            "market",
            "session",
            "experiment",
            "config_version",
            "instrument",
            name=op.f("uq_universe_members_key"),
        ),
        comment="Point-in-time tradable universe per session (one row per member).",
    )
    op.create_table(
        "kronos_proposals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("proposal_key", sa.String(length=128), nullable=False),
        sa.Column("report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("current_config_version", sa.String(length=64), nullable=False),
        sa.Column("proposed_config_version", sa.String(length=64), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('PROPOSED', 'APPROVED', 'REJECTED', 'PROMOTED')",
            name=op.f("ck_kronos_proposals_status"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["kronos_reports.id"],
            name=op.f("fk_kronos_proposals_report_id_kronos_reports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kronos_proposals")),
        sa.UniqueConstraint("proposal_key", name=op.f("uq_kronos_proposals_key")),
        comment="Config changes proposed by Kronos; a human approves them before promotion.",
    )


def downgrade() -> None:
    op.drop_table("kronos_proposals")
    op.drop_table("universe_members")
    op.drop_table("target_portfolios")
    op.drop_table("stability_scores")
    op.drop_table("scenario_sets")
    op.drop_table("scenario_results")
    op.drop_index(op.f("ix_risk_state_scope_set_at"), table_name="risk_state")
    op.drop_table("risk_state")
    op.drop_table("risk_reports")
    op.drop_table("regime_states")
    op.drop_table("market_states")
    op.drop_table("kronos_reports")
    op.drop_table("fragility_scores")
    op.drop_index(op.f("ix_engine_runs_engine_market_experiment"), table_name="engine_runs")
    op.drop_table("engine_runs")
    op.drop_index(op.f("ix_engine_decisions_market_session"), table_name="engine_decisions")
    op.drop_table("engine_decisions")
    op.drop_index(op.f("ix_engine_configs_engine_created_at"), table_name="engine_configs")
    op.drop_table("engine_configs")
    op.drop_table("decision_outcomes")
    op.drop_table("backtest_runs")
    op.drop_table("assessments")
    op.drop_index(op.f("ix_alerts_ts"), table_name="alerts")
    op.drop_table("alerts")
