"""Engine tables: configs, runs, decisions and each engine's typed output, plus outcomes and experiments.

Every engine output table has one unique key that ends in ``experiment, config_version``, so re-running an
engine for the same session, experiment and config replaces its rows (upsert) and never duplicates them, while
different experiments and config versions live side by side.
"""

from __future__ import annotations

import sqlalchemy as sa

from prometheus.runtime.enums import RunStatus
from prometheus.runtime.tables.base import (
    CONFIG_VERSION_LEN,
    ENGINE_LEN,
    EXPERIMENT_LEN,
    INSTRUMENT_LEN,
    KEY_LEN,
    MARKET_LEN,
    UTCDateTime,
    created_at_column,
    decision_columns,
    enum_check,
    id_column,
    metadata,
)

engine_configs = sa.Table(
    "engine_configs",
    metadata,
    sa.Column("config_version", sa.String(CONFIG_VERSION_LEN), primary_key=True),
    sa.Column("engine", sa.String(ENGINE_LEN), nullable=False),
    sa.Column("config", sa.JSON(), nullable=False),
    created_at_column(),
    sa.Index(None, "engine", "created_at"),
    comment="Every engine config ever used, keyed by the SHA-256 of its canonical JSON.",
)

engine_runs = sa.Table(
    "engine_runs",
    metadata,
    id_column(),
    sa.Column("run_key", sa.String(KEY_LEN), nullable=False),
    sa.Column("engine", sa.String(ENGINE_LEN), nullable=False),
    sa.Column("market", sa.String(MARKET_LEN), nullable=False),
    sa.Column("experiment", sa.String(EXPERIMENT_LEN), nullable=False),
    sa.Column("config_version", sa.String(CONFIG_VERSION_LEN), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("first_session", sa.Date(), nullable=False),
    sa.Column("last_session", sa.Date(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("rows_written", sa.Integer(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.UniqueConstraint("run_key", name="key"),
    enum_check("status", RunStatus),
    sa.Index(None, "engine", "market", "experiment"),
    comment="One row per engine invocation over a session range; run_key e.g. the orchestrator run id.",
)

engine_decisions = sa.Table(
    "engine_decisions",
    metadata,
    id_column(),
    sa.Column("engine", sa.String(ENGINE_LEN), nullable=False),
    *decision_columns(),
    sa.Column("decision_key", sa.String(KEY_LEN), nullable=False, default=""),
    sa.Column("payload", sa.JSON(), nullable=False),
    created_at_column(),
    sa.UniqueConstraint("engine", "market", "session", "experiment", "config_version", "decision_key", name="key"),
    sa.Index(None, "market", "session"),
    comment="Each engine's decision as JSON; decision_key separates several decisions of one session.",
)

regime_states = sa.Table(
    "regime_states",
    metadata,
    id_column(),
    *decision_columns(),
    sa.Column("state", sa.Integer(), nullable=False),
    sa.Column("label", sa.String(16), nullable=False),
    sa.Column("probabilities", sa.JSON(), nullable=False),
    sa.Column("confidence", sa.Float(), nullable=False),
    created_at_column(),
    sa.UniqueConstraint("market", "session", "experiment", "config_version", name="key"),
    # The labels of prometheus.engines.regime.RegimeLabel (engines sit above runtime, so spelled out here).
    sa.CheckConstraint("label IN ('calm', 'normal', 'crisis')", name="label"),
    comment="Regime per market and session: state ordered by volatility, label, filtered probabilities.",
)


def _instrument_score_table(name: str, comment: str) -> sa.Table:
    # Stability and fragility share one shape: a score per instrument ('' = the market) and session.
    return sa.Table(
        name,
        metadata,
        id_column(),
        *decision_columns(),
        sa.Column("instrument", sa.String(INSTRUMENT_LEN), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        created_at_column(),
        sa.UniqueConstraint("market", "session", "experiment", "config_version", "instrument", name="key"),
        comment=comment,
    )


stability_scores = _instrument_score_table(
    "stability_scores",
    "Market stability measures (absorption ratio, turbulence); instrument '' = the market.",
)
fragility_scores = _instrument_score_table(
    "fragility_scores", "Fragility (crowding, illiquidity) per instrument or cluster; a risk penalty input."
)

assessments = sa.Table(
    "assessments",
    metadata,
    id_column(),
    *decision_columns(),
    sa.Column("instrument", sa.String(INSTRUMENT_LEN), nullable=False),
    sa.Column("score", sa.Float(), nullable=False),
    sa.Column("expected_return", sa.Float(), nullable=False),
    sa.Column("horizon_sessions", sa.Integer(), nullable=False),
    sa.Column("model_version", sa.String(KEY_LEN), nullable=False),
    sa.Column("details", sa.JSON(), nullable=False),
    created_at_column(),
    sa.UniqueConstraint("market", "session", "experiment", "config_version", "instrument", name="key"),
    comment="Per-instrument forecast score of the Assessment engine.",
)

universe_members = sa.Table(
    "universe_members",
    metadata,
    id_column(),
    *decision_columns(),
    sa.Column("instrument", sa.String(INSTRUMENT_LEN), nullable=False),
    sa.Column("rank", sa.Integer(), nullable=False),
    sa.Column("reason", sa.String(KEY_LEN), nullable=False),
    sa.Column("median_dollar_volume", sa.Float(), nullable=True),
    sa.Column("capacity", sa.Float(), nullable=True),
    created_at_column(),
    sa.UniqueConstraint("market", "session", "experiment", "config_version", "instrument", name="key"),
    comment="Point-in-time tradable universe per session: a row per member (entered, stayed) and per exit.",
)

target_portfolios = sa.Table(
    "target_portfolios",
    metadata,
    id_column(),
    *decision_columns(),
    sa.Column("instrument", sa.String(INSTRUMENT_LEN), nullable=False),
    sa.Column("weight", sa.Float(), nullable=False),
    sa.Column("expected_return", sa.Float(), nullable=True),
    sa.Column("risk_contribution", sa.Float(), nullable=True),
    created_at_column(),
    sa.UniqueConstraint("market", "session", "experiment", "config_version", "instrument", name="key"),
    comment="Target weights of the Portfolio & Risk engine per instrument and session.",
)

risk_reports = sa.Table(
    "risk_reports",
    metadata,
    id_column(),
    *decision_columns(),
    sa.Column("ex_ante_vol", sa.Float(), nullable=True),
    sa.Column("var_95", sa.Float(), nullable=True),
    sa.Column("es_95", sa.Float(), nullable=True),
    sa.Column("report", sa.JSON(), nullable=False),
    created_at_column(),
    sa.UniqueConstraint("market", "session", "experiment", "config_version", name="key"),
    comment="Ex-ante risk of the target portfolio: vol, VaR/ES, exposures, contributions, stress losses.",
)

scenario_sets = sa.Table(
    "scenario_sets",
    metadata,
    id_column(),
    *decision_columns(),
    sa.Column("scenario_set", sa.String(KEY_LEN), nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("n_scenarios", sa.Integer(), nullable=False),
    sa.Column("horizon_sessions", sa.Integer(), nullable=False),
    sa.Column("definition", sa.JSON(), nullable=False),
    sa.Column("lake_path", sa.String(512), nullable=True),
    created_at_column(),
    sa.UniqueConstraint("market", "session", "experiment", "config_version", "scenario_set", name="key"),
    comment="Generated scenario sets (method, size, parameters); the paths themselves live in the lake.",
)

scenario_results = sa.Table(
    "scenario_results",
    metadata,
    id_column(),
    *decision_columns(),
    sa.Column("scenario_set", sa.String(KEY_LEN), nullable=False),
    sa.Column("scenario", sa.String(KEY_LEN), nullable=False),
    sa.Column("pnl", sa.Float(), nullable=False),
    sa.Column("details", sa.JSON(), nullable=True),
    created_at_column(),
    sa.UniqueConstraint("market", "session", "experiment", "config_version", "scenario_set", "scenario", name="key"),
    comment="Stress P&L of the target portfolio per scenario (or summary row) of a scenario set.",
)

decision_outcomes = sa.Table(
    "decision_outcomes",
    metadata,
    id_column(),
    sa.Column("engine", sa.String(ENGINE_LEN), nullable=False),
    *decision_columns(),
    sa.Column("decision_key", sa.String(KEY_LEN), nullable=False, default=""),
    sa.Column("horizon_sessions", sa.Integer(), nullable=False),
    sa.Column("outcome", sa.Float(), nullable=True),
    sa.Column("metrics", sa.JSON(), nullable=False),
    sa.Column("known_at", UTCDateTime(), nullable=False),
    created_at_column(),
    sa.UniqueConstraint(
        "engine",
        "market",
        "session",
        "experiment",
        "config_version",
        "decision_key",
        "horizon_sessions",
        name="key",
    ),
    comment="Realised outcome of a decision after a horizon; known_at is when the outcome became known.",
)

backtest_runs = sa.Table(
    "backtest_runs",
    metadata,
    id_column(),
    sa.Column("experiment", sa.String(EXPERIMENT_LEN), nullable=False),
    sa.Column("description", sa.Text(), nullable=False, default=""),
    sa.Column("markets", sa.JSON(), nullable=False),
    sa.Column("config_versions", sa.JSON(), nullable=False),
    sa.Column("universe", sa.JSON(), nullable=True),
    sa.Column("first_session", sa.Date(), nullable=False),
    sa.Column("last_session", sa.Date(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("metrics", sa.JSON(), nullable=True),
    sa.UniqueConstraint("experiment", name="key"),
    enum_check("status", RunStatus),
    comment="Experiments: config versions + universe + date range, with summary metrics once finished.",
)

backtest_daily = sa.Table(
    "backtest_daily",
    metadata,
    id_column(),
    sa.Column("experiment", sa.String(EXPERIMENT_LEN), nullable=False),
    sa.Column("market", sa.String(MARKET_LEN), nullable=False),
    sa.Column("session", sa.Date(), nullable=False),
    sa.Column("config_version", sa.String(CONFIG_VERSION_LEN), nullable=False),
    sa.Column("known_at", UTCDateTime(), nullable=False),
    *(
        sa.Column(name, sa.Float(), nullable=True)
        for name in (
            "equity",
            "cash",
            "gross_exposure",
            "net_exposure",
            "turnover",
            "commission",
            "fees",
            "spread",
            "impact",
            "borrow",
            "dividends",
            "daily_return",
            "benchmark_return",
            "baseline_return",
        )
    ),  # fmt: skip
    sa.Column("regime_label", sa.String(KEY_LEN), nullable=True),
    created_at_column(),
    sa.UniqueConstraint("experiment", "market", "session", name="key"),
    comment="Daily results of a backtest (columns: prometheus.backtest.schema); costs are the session's amounts.",
)
